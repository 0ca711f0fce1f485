-- Register the run's new master keys.
INSERT INTO master_key_registry (master_key, source_system, source_key, status,
                                 created_at, updated_at, run_id)
SELECT master_key, system, source_key, new_status, :now, :now, :run_id
FROM staging_master_keys
WHERE NOT conflict AND prior_status IS NULL
ORDER BY master_key;
