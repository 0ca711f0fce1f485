-- K(s) of SPEC §5: each system's distinct normalized keys, with the record of
-- their first-seen row and their number of rows. One sort of the staged rows
-- by key; staging_keys then fills in its own (key, system_id) order.
INSERT INTO staging_keys (key, system_id, first_record, row_count)
SELECT key, row_id >> 32, MIN(row_id & 4294967295), COUNT(*)
FROM staging_rows
GROUP BY key, row_id >> 32;
