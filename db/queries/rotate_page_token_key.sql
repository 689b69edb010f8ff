-- A new signing key for page tokens; the keys in use keep verifying for $1 microseconds.
WITH retired AS (
  UPDATE page_token_keys SET retire_time = now() + $1::bigint * interval '1 microsecond'
  WHERE retire_time IS NULL OR retire_time > now() + $1::bigint * interval '1 microsecond'
)
INSERT INTO page_token_keys (secret)
VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
