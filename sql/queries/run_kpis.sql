-- The KPIs of SPEC §9 for one run. auto_approval_rate: the distinct
-- non-conflicting master keys that auto-approve made Active in this run, over
-- all of them; 0 without auto-approve, and in a dry run (it makes nothing
-- Active, whatever its diff's status column shows); NULL when there are none.
SELECT
    (SELECT COUNT(*) FROM findings WHERE run_id = :run_id AND kind = 'missing_in_A'),
    (SELECT COUNT(*) FROM findings WHERE run_id = :run_id AND kind = 'missing_from_system'),
    (SELECT COUNT(*) FROM findings WHERE run_id = :run_id AND kind = 'duplicate'),
    (SELECT CASE WHEN COUNT(*) = 0 THEN NULL
                 WHEN NOT :auto_approve OR :dry_run THEN 0.0
                 ELSE CAST(SUM(new_status = 'Active'
                               AND (prior_status IS NULL OR prior_status = 'Proposed')) AS REAL)
                      / COUNT(*) END
     FROM staging_master_keys WHERE NOT conflict);
