-- The page-token keys in use, the signing (newest) one first; retired ones drop out when their
-- grace period ends on the database's clock.
SELECT secret FROM page_token_keys
WHERE retire_time IS NULL OR retire_time > now()
ORDER BY id DESC
