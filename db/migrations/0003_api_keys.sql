-- jobd schema 3: API keys. The key itself is never stored, only its SHA-256.

-- Bumped by every insert and revocation; jobd processes follow the table by it. Key writes
-- take an advisory lock before nextval, so change numbers commit in order and a reader that
-- has seen change N never misses a later commit numbered below N.
CREATE SEQUENCE api_key_changes;

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  name         text NOT NULL,         -- the principal, recorded as requested_by
  role         text NOT NULL CHECK (role IN ('admin', 'member', 'worker', 'viewer')),
  workspace_id text,                  -- NULL for admin keys: every workspace
  key_hash     bytea NOT NULL UNIQUE, -- SHA-256 of the whole key
  key_prefix   text NOT NULL,         -- its first characters, to recognise it in lists
  created_by   text NOT NULL,
  create_time  timestamptz NOT NULL,
  expire_time  timestamptz,
  revoke_time  timestamptz,
  change_seq   bigint NOT NULL,
  CHECK ((role = 'admin') = (workspace_id IS NULL))
);
CREATE UNIQUE INDEX api_keys_change_seq ON api_keys (change_seq);
