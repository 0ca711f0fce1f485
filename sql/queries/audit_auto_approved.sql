-- One master_key_approved event per Proposed key that auto-approve flipped.
INSERT INTO audit_log (run_id, event_type, payload, created_at)
SELECT :run_id, 'master_key_approved',
       json_object('master_key', master_key, 'from', prior_status, 'to', new_status, 'by', 'auto'),
       :now
FROM staging_master_keys
WHERE NOT conflict AND prior_status = 'Proposed' AND new_status = 'Active'
ORDER BY master_key;
