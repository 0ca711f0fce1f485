-- How many master keys the staged run would add to the registry: distinct
-- proposed master keys that are neither registered, nor a key of the
-- authority, nor suppressed (a suppressed key is never proposed).
SELECT COUNT(DISTINCT m.master_key)
FROM (SELECT CASE WHEN :namespaced THEN :authority || '-' || s.system || '-' || p.key
                  ELSE p.key END AS master_key
      FROM staging_presence p
      JOIN staging_systems s ON s.role = 'peer' AND (p.mask >> s.system_id) & 1 = 1
      WHERE (p.mask >> :authority_id) & 1 = 0
        AND NOT EXISTS (SELECT 1 FROM suppressions x
                        WHERE x.system = s.system AND x.key = p.key
                          AND (x.until = '' OR x.until > :now))) m
WHERE NOT EXISTS (SELECT 1 FROM master_key_registry r WHERE r.master_key = m.master_key)
  AND NOT EXISTS (SELECT 1 FROM staging_keys a
                  WHERE a.key = m.master_key AND a.system_id = :authority_id);
