-- Keep the files the run's sources read (run_inputs).
INSERT INTO run_inputs (run_id, system, seq, path, bytes, sha256, first_record, records)
SELECT :run_id, s.system, i.seq, i.path, i.bytes, i.sha256, i.first_record, i.records
FROM staging_inputs i
JOIN staging_systems s ON s.system_id = i.system_id;
