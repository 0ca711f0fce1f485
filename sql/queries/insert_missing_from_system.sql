-- missing_from_system: for each peer, each key of the authority it lacks —
-- the anti-join K(A) \ K(s), read off the presence mask — with the
-- authority's first-seen row.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_from_system', s.system, p.key, r.raw_key, p.key,
       r.entity_type, r.location_ref, r.last_seen_at
FROM staging_presence p
JOIN staging_systems s ON s.role = 'peer' AND (p.mask >> s.system_id) & 1 = 0
JOIN staging_keys a ON a.key = p.key AND a.system_id = :authority_id
JOIN staging_rows r ON r.row_id = (:authority_id << 32) | a.first_record
WHERE (p.mask >> :authority_id) & 1 = 1;
