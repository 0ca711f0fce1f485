-- K(s) of SPEC §5: each system's distinct normalized keys, with their
-- first-seen row (the row with the lowest record: SQLite takes the bare
-- row_id from the row MIN() picks) and their number of rows. One sort of the
-- staged rows by key; staging_keys then fills in its own (key, system_id) order.
INSERT INTO staging_keys (key, system_id, first_row, row_count)
SELECT key, system_id, row_id, row_count
FROM (SELECT key, system_id, row_id, MIN(record), COUNT(*) AS row_count
      FROM staging_rows
      GROUP BY key, system_id);
