-- Token lifecycle (issue 20): a token may expire. NULL means it never does (`denials tokens create --no-expiry`);
-- `create` sets 90 days unless told otherwise. Tokens made before this migration keep no expiry: revoke and
-- re-create them to rotate (README, "Token expiry and rotation").
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
