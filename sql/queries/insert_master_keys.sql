-- The run's distinct proposed master keys. The proposing system is the
-- alphabetically first one; a master key equal to a key of the authority is a
-- conflict and is never registered. Under mirror a master key is a key the
-- authority lacks, so only namespaced master keys can conflict; those are
-- looked up in staging_authority_keys.
INSERT INTO staging_master_keys (master_key, system, source_key, conflict, prior_status)
SELECT f.master_key, f.system, f.source_key,
       CASE WHEN :namespaced
            THEN EXISTS (SELECT 1 FROM staging_authority_keys a WHERE a.key = f.master_key)
            ELSE 0 END,
       m.status
FROM (SELECT master_key, system, source_key,
             ROW_NUMBER() OVER (PARTITION BY master_key ORDER BY system) AS rank
      FROM findings
      WHERE run_id = :run_id AND kind = 'missing_in_A') f
LEFT JOIN master_key_registry m ON m.master_key = f.master_key
WHERE f.rank = 1;
