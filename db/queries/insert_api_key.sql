INSERT INTO api_keys (id, name, role, workspace_id, key_hash, key_prefix, created_by,
                      create_time, expire_time, change_seq)
VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, $7, $8, $9, nextval('api_key_changes'))
RETURNING *
