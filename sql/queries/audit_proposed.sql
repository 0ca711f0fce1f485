-- One master_key_proposed event per new master key, in key order.
INSERT INTO audit_log (run_id, event_type, payload, created_at)
SELECT :run_id, 'master_key_proposed',
       json_object('master_key', master_key, 'from', '', 'to', new_status, 'by', 'auto'),
       :now
FROM staging_master_keys
WHERE NOT conflict AND prior_status IS NULL
ORDER BY master_key;
