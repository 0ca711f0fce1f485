-- missing_from_system: for each peer, each key of the authority it lacks,
-- with the authority's first-seen row, from the staging files' findings. A
-- suppressed (system, key) and a key grace_period holds back (recorded
-- before this in pending_findings: insert_pending_findings.sql) are left out.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_from_system', f.system, f.key, f.source_key, f.key,
       f.entity_type, f.location_ref, f.last_seen_at
FROM staging_findings f
WHERE f.kind = 'missing_from_system'
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = f.system AND x.key = f.key AND (x.until = '' OR x.until > :now))
  AND NOT EXISTS (SELECT 1 FROM pending_findings p
                  WHERE p.run_id = :run_id AND p.system = f.system AND p.key = f.key)
ORDER BY f.system, f.key;
