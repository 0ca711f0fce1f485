-- The staged rows of duplicate keys, for the detail of exceptions.csv.
INSERT INTO staging_dup_rows (system_id, key, row_id, raw_key)
SELECT r.row_id >> 32, r.key, r.row_id, r.raw_key
FROM staging_rows r
WHERE (r.key, r.row_id >> 32) IN (SELECT key, system_id FROM staging_keys WHERE row_count > 1);
