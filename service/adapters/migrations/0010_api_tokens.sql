-- API bearer tokens (issue 7). Only a SHA-256 of each token is stored: tokens are 256 random bits, so a plain hash
-- is as strong as a salted one and can be looked up by index. Scopes: a team's queues, or every queue (supervisor).

CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    text NOT NULL UNIQUE,          -- hex sha256 of the bearer token
    token_prefix  text NOT NULL,                 -- first characters, to tell tokens apart in `denials tokens list`
    team          text NOT NULL,
    user_name     text,
    queues        text[] NOT NULL DEFAULT '{}',
    supervisor    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CONSTRAINT api_tokens_scope CHECK (supervisor OR cardinality(queues) > 0)
);
