-- The staged rows by key: one sort of integers (key_id, system_id, key_check,
-- and the row_id every index entry ends with), so a key's rows in a system
-- sit together in file order. Built once the load is done, as a bulk sort is
-- far cheaper than keeping an index while inserting.
CREATE INDEX staging_rows_by_key ON staging_rows (key_id, system_id, key_check);
