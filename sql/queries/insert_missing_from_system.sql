-- missing_from_system: for each peer, each key of the authority it lacks (an
-- anti-join), with the authority's first-seen row.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_from_system', s.system, a.key, r.raw_key, a.key,
       r.entity_type, r.location_ref, r.last_seen_at
FROM staging_systems s
JOIN staging_keys a ON a.system_id = :authority_id
JOIN staging_rows r ON r.system_id = a.system_id AND r.key = a.key AND r.record = a.first_record
WHERE s.role = 'peer'
  AND NOT EXISTS (SELECT 1 FROM staging_keys p
                  WHERE p.system_id = s.system_id AND p.key = a.key)
ORDER BY s.system, a.key;
