-- The staged rows of keys with three or more rows in a system: one scan of
-- staging_rows, picking out those (key, system) pairs. Run only when there
-- are such keys (staging_presence.multi_mask).
INSERT INTO staging_dup_rows (system_id, key, record, raw_key)
SELECT r.system_id, r.key, r.record, r.raw_key
FROM staging_rows r
WHERE (r.key, r.system_id) IN (
    SELECT p.key, s.system_id
    FROM staging_presence p
    CROSS JOIN staging_systems s
    WHERE p.multi_mask <> 0 AND (p.multi_mask >> s.system_id) & 1 = 1);
