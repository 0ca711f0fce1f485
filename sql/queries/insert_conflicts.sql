-- master_key_conflict: one exception per missing_in_A row whose master key
-- equals a key of the authority.
INSERT INTO findings (run_id, kind, system, key, master_key, count, detail)
SELECT f.run_id, 'master_key_conflict', f.system, f.key, f.master_key, 1, f.master_key
FROM findings f
JOIN staging_master_keys k ON k.master_key = f.master_key AND k.conflict
WHERE f.run_id = :run_id AND f.kind = 'missing_in_A'
ORDER BY f.system, f.key;
