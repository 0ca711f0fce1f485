-- ops_run_outcome: one run's status and mode, for `keysync report`, and
-- whether `keysync prune` removed its findings and rejected rows: a count the
-- run recorded (a KPI, or its summary's rejected rows) with no row left to show.
SELECT r.run_id, r.status, r.mode,
       (COALESCE(r.missing_in_A_count, 0) > 0 AND NOT EXISTS (
            SELECT 1 FROM findings f WHERE f.run_id = r.run_id AND f.kind = 'missing_in_A'))
    OR (COALESCE(r.missing_from_system_count, 0) > 0 AND NOT EXISTS (
            SELECT 1 FROM findings f WHERE f.run_id = r.run_id AND f.kind = 'missing_from_system'))
    OR (COALESCE(r.duplicate_keys_count, 0) > 0 AND NOT EXISTS (
            SELECT 1 FROM findings f WHERE f.run_id = r.run_id AND f.kind = 'duplicate'))
    OR (COALESCE((SELECT SUM(s.rows_rejected) FROM run_systems s WHERE s.run_id = r.run_id), 0) > 0
        AND NOT EXISTS (SELECT 1 FROM rejected_rows j WHERE j.run_id = r.run_id)) AS pruned
FROM runs r
WHERE r.run_id = ?;
