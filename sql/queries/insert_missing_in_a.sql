-- missing_in_A: for each peer, each of its keys the authority lacks (an
-- anti-join), with the peer's first-seen row and the proposed master key.
-- status is filled in once the registry outcome is known.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_in_A', s.system, p.key, r.raw_key,
       CASE WHEN :namespaced THEN :authority || '-' || s.system || '-' || p.key
            ELSE p.key END,
       r.entity_type, r.location_ref, r.last_seen_at
FROM staging_systems s
JOIN staging_keys p ON p.system_id = s.system_id
JOIN staging_rows r ON r.system_id = p.system_id AND r.key = p.key AND r.record = p.first_record
WHERE s.role = 'peer'
  AND NOT EXISTS (SELECT 1 FROM staging_keys a
                  WHERE a.system_id = :authority_id AND a.key = p.key)
ORDER BY s.system, p.key;
