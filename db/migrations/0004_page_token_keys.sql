-- The keys that sign page tokens, random per installation and shared by its replicas through
-- this table (no constant in the source). The newest key signs; a rotation gives the older
-- ones a retire_time, until which they still verify the tokens they signed.
CREATE TABLE page_token_keys (
  id          bigserial PRIMARY KEY,
  secret      text NOT NULL,  -- 64 hex digits from two random UUIDs (pg_strong_random)
  create_time timestamptz NOT NULL DEFAULT now(),
  retire_time timestamptz
);
INSERT INTO page_token_keys (secret)
VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
