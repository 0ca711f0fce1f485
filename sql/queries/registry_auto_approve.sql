-- Flip the Proposed keys that auto-approve made Active.
UPDATE master_key_registry
SET status = 'Active', updated_at = :now
WHERE status = 'Proposed'
  AND master_key IN (SELECT master_key FROM staging_master_keys
                     WHERE NOT conflict AND prior_status = 'Proposed' AND new_status = 'Active');
