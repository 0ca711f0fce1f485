-- How many master keys the staged run would add to the registry: distinct
-- proposed master keys that are neither registered nor a key of the authority.
SELECT COUNT(DISTINCT m.master_key)
FROM (SELECT CASE WHEN :namespaced THEN :authority || '-' || s.system || '-' || p.key
                  ELSE p.key END AS master_key
      FROM staging_systems s
      JOIN staging_keys p ON p.system_id = s.system_id
      WHERE s.role = 'peer'
        AND NOT EXISTS (SELECT 1 FROM staging_keys a
                        WHERE a.system_id = :authority_id AND a.key = p.key)) m
WHERE NOT EXISTS (SELECT 1 FROM master_key_registry r WHERE r.master_key = m.master_key)
  AND NOT EXISTS (SELECT 1 FROM staging_keys a
                  WHERE a.system_id = :authority_id AND a.key = m.master_key);
