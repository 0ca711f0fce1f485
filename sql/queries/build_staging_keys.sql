-- K(s) of SPEC §5: each system's distinct normalized keys with the record of
-- their first-seen row and their number of rows. staging_rows is clustered on
-- (system_id, key, record), so this is one ordered scan without a sort.
INSERT INTO staging_keys (system_id, key, first_record, row_count)
SELECT system_id, key, MIN(record), COUNT(*)
FROM staging_rows
GROUP BY system_id, key;
