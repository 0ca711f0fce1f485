-- The reconciliation summary of the run, one row per system. matched is
-- |K(s) ∩ K(A)| = |K(s)| - |K(s) \ K(A)|, taken from the missing_in_A findings
-- (for the authority, |K(A)|).
INSERT INTO run_systems (run_id, system, role, rows_read, rows_rejected, distinct_keys,
                         duplicate_keys, matched, missing_in_A, missing_from_system,
                         input_path, input_bytes, input_sha256)
SELECT :run_id, s.system, s.role, s.rows_read, s.rows_rejected, s.distinct_keys,
       s.duplicate_keys,
       s.distinct_keys - (SELECT COUNT(*) FROM findings f
                          WHERE f.run_id = :run_id AND f.kind = 'missing_in_A' AND f.system = s.system),
       (SELECT COUNT(*) FROM findings f
        WHERE f.run_id = :run_id AND f.kind = 'missing_in_A' AND f.system = s.system),
       (SELECT COUNT(*) FROM findings f
        WHERE f.run_id = :run_id AND f.kind = 'missing_from_system' AND f.system = s.system),
       s.input_path, s.input_bytes, s.input_sha256
FROM staging_systems s;
