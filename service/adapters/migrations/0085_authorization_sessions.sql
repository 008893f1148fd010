-- How many sessions (dates of service) an authorization allows in all (NULL: not limited): an authorization for one
-- procedure is used up by the claim that billed it, so a later claim of the same service needs another.
ALTER TABLE authorizations ADD COLUMN IF NOT EXISTS sessions integer;
