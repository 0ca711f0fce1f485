-- Keep the run's rejected rows.
INSERT INTO rejected_rows (run_id, system, record, raw_key, reason)
SELECT :run_id, s.system, r.record, r.raw_key, r.reason
FROM staging_rejects r
JOIN staging_systems s ON s.system_id = r.system_id;
