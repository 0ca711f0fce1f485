-- K(s) of SPEC §5: each system's distinct normalized keys, with their
-- first-seen row (of the lowest record: MIN over record << 32 | row_id
-- carries that row's row_id), the lowest and highest row_id of their rows,
-- and their number of rows. One sort of the staged rows by key; staging_keys
-- then fills in its own (key, system_id) order.
INSERT INTO staging_keys (key, system_id, first_row, min_row, max_row, row_count)
SELECT key, system_id, MIN((record << 32) | row_id) & 4294967295, MIN(row_id), MAX(row_id), COUNT(*)
FROM staging_rows
GROUP BY key, system_id;
