-- Only the first revocation counts; revoking again returns nothing and changes nothing.
UPDATE api_keys SET revoke_time = $2, change_seq = nextval('api_key_changes')
WHERE id = $1 AND revoke_time IS NULL
RETURNING *
