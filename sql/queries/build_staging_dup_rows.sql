-- The staged rows of duplicate keys, for the detail of exceptions.csv. The
-- (key, system) pairs come from staging_presence.dup_mask, a scan of one row
-- per key rather than one per key and system.
INSERT INTO staging_dup_rows (system_id, key, record, raw_key)
SELECT r.system_id, r.key, r.record, r.raw_key
FROM staging_rows r
WHERE (r.key, r.system_id) IN (
    SELECT p.key, s.system_id
    FROM staging_presence p
    CROSS JOIN staging_systems s
    WHERE p.dup_mask <> 0 AND (p.dup_mask >> s.system_id) & 1 = 1);
