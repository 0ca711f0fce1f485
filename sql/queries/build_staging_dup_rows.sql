-- The staged rows of keys with exactly two rows in a system, for the detail
-- of exceptions.csv: its lowest and highest row_id, two lookups each.
INSERT INTO staging_dup_rows (system_id, key, record, raw_key)
SELECT r.system_id, r.key, r.record, r.raw_key
FROM staging_presence p
CROSS JOIN staging_systems s
CROSS JOIN staging_keys k
CROSS JOIN staging_rows r
WHERE p.dup_mask <> 0 AND (p.dup_mask >> s.system_id) & 1 = 1
  AND k.key = p.key AND k.system_id = s.system_id AND k.row_count = 2
  AND r.row_id IN (k.min_row, k.max_row);
