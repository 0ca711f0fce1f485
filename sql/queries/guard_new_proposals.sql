-- How many master keys the staged run would add to the registry: distinct
-- proposed master keys that are neither registered, nor a key of the
-- authority, nor suppressed (a suppressed key is never proposed).
SELECT COUNT(DISTINCT m.master_key)
FROM (SELECT CASE WHEN :namespaced THEN :authority || '-' || f.system || '-' || f.key
                  ELSE f.key END AS master_key
      FROM staging_findings f
      WHERE f.kind = 'missing_in_A'
        AND NOT EXISTS (SELECT 1 FROM suppressions x
                        WHERE x.system = f.system AND x.key = f.key
                          AND (x.until = '' OR x.until > :now))) m
WHERE NOT EXISTS (SELECT 1 FROM master_key_registry r WHERE r.master_key = m.master_key)
  AND NOT (:namespaced AND EXISTS (SELECT 1 FROM staging_authority_keys a WHERE a.key = m.master_key));
