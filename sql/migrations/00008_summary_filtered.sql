-- +goose Up

-- v_latest_run_summary gains the summary's trailing filtered column (rows a
-- source's filter: left out, 00005), so the view keeps showing every count
-- of reconciliation_summary.csv.
DROP VIEW v_latest_run_summary;
CREATE VIEW v_latest_run_summary AS
SELECT r.run_id, r.started_at, r.mode,
       s.system, s.role, s.rows_read, s.rows_rejected, s.distinct_keys, s.duplicate_keys,
       s.matched, s.missing_in_A, s.missing_from_system, s.pending, s.suppressed,
       s.input_path, s.input_bytes, s.input_sha256, s.filtered
FROM runs r
JOIN run_systems s ON s.run_id = r.run_id
WHERE r.run_id = (SELECT MAX(run_id) FROM runs WHERE status = 'succeeded' AND mode = 'normal')
ORDER BY s.role <> 'authority', s.system;

-- +goose Down
DROP VIEW v_latest_run_summary;
CREATE VIEW v_latest_run_summary AS
SELECT r.run_id, r.started_at, r.mode,
       s.system, s.role, s.rows_read, s.rows_rejected, s.distinct_keys, s.duplicate_keys,
       s.matched, s.missing_in_A, s.missing_from_system, s.pending, s.suppressed,
       s.input_path, s.input_bytes, s.input_sha256
FROM runs r
JOIN run_systems s ON s.run_id = r.run_id
WHERE r.run_id = (SELECT MAX(run_id) FROM runs WHERE status = 'succeeded' AND mode = 'normal')
ORDER BY s.role <> 'authority', s.system;
