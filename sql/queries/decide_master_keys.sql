-- The registry status each proposed master key has after the run: new keys
-- enter as Proposed (Active under auto-approve); auto-approve flips Proposed
-- keys to Active; Active and Deprecated keys stay as they are.
UPDATE staging_master_keys
SET new_status = CASE
    WHEN conflict THEN NULL
    WHEN prior_status IS NULL OR prior_status = 'Proposed'
        THEN CASE WHEN :auto_approve THEN 'Active' ELSE 'Proposed' END
    ELSE prior_status
END;
