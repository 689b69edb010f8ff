-- Keys inserted or revoked after change $1, in change order: how jobd processes follow keys.
SELECT * FROM api_keys WHERE change_seq > $1 ORDER BY change_seq LIMIT $2
