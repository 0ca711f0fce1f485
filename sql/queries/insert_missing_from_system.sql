-- missing_from_system: for each peer, each key of the authority it lacks,
-- with the authority's first-seen row, from the staging files' findings. A
-- suppressed (system, key) and a key still within grace_period are left out.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_from_system', f.system, f.key, f.source_key, f.key,
       f.entity_type, f.location_ref, f.last_seen_at
FROM staging_findings f
WHERE f.kind = 'missing_from_system'
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = f.system AND x.key = f.key AND (x.until = '' OR x.until > :now))
  -- grace_period: a key younger than it is pending, not yet missing. Its age
  -- runs from its last_seen_at, or else from its first appearance in A
  -- (:first_seen when it has none recorded: see record_authority_first_seen.sql).
  AND NOT (:grace_seconds > 0
           AND (julianday(:now) - julianday(COALESCE(NULLIF(f.last_seen_at, ''),
                    (SELECT a.first_seen_at FROM authority_first_seen a WHERE a.key = f.key),
                    :first_seen))) * 86400.0 < :grace_seconds)
ORDER BY f.system, f.key;
