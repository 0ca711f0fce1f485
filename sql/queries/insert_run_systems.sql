-- The reconciliation summary of the run, one row per system. The key counts
-- (distinct, duplicate, matched) come from staging_systems; missing_in_A and
-- missing_from_system count the reported findings, so suppressed and pending
-- ones are not in them. pending counts the authority's keys a peer lacks that
-- grace_period holds back (the run's pending_findings); suppressed, the
-- active suppressions that silenced a finding of the system.
INSERT INTO run_systems (run_id, system, role, rows_read, rows_rejected, distinct_keys,
                         duplicate_keys, matched, missing_in_A, missing_from_system,
                         input_path, input_bytes, input_sha256, pending, suppressed, filtered)
SELECT :run_id, s.system, s.role, s.rows_read, s.rows_rejected, s.distinct_keys,
       s.duplicate_keys,
       s.matched,
       (SELECT COUNT(*) FROM findings f
        WHERE f.run_id = :run_id AND f.kind = 'missing_in_A' AND f.system = s.system),
       (SELECT COUNT(*) FROM findings f
        WHERE f.run_id = :run_id AND f.kind = 'missing_from_system' AND f.system = s.system),
       s.input_path, s.input_bytes, s.input_sha256,
       (SELECT COUNT(*) FROM pending_findings p
        WHERE p.run_id = :run_id AND p.system = s.system),
       CASE WHEN EXISTS (SELECT 1 FROM suppressions) THEN (
           SELECT COUNT(DISTINCT c.key) FROM staging_findings c
           WHERE c.system = s.system
             AND EXISTS (SELECT 1 FROM suppressions x
                         WHERE x.system = c.system AND x.key = c.key
                           AND (x.until = '' OR x.until > :now)))
       ELSE 0 END,
       s.filtered
FROM staging_systems s;
