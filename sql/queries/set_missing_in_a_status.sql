-- The status column of diff_missing_in_A: the master key's registry status
-- after the run (what it would be, in a dry run); empty for a conflict.
UPDATE findings
SET status = COALESCE((SELECT k.new_status FROM staging_master_keys k
                       WHERE k.master_key = findings.master_key), '')
WHERE run_id = :run_id AND kind = 'missing_in_A';
