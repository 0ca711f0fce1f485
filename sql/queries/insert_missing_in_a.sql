-- missing_in_A: for each peer, each of its keys the authority lacks (the
-- candidates of staging), with the peer's first-seen row and the proposed
-- master key. status is filled in once the registry outcome is known. A
-- suppressed (system, key) is left out. CROSS JOIN keeps the join order as
-- written: the candidates, then point lookups.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_in_A', s.system, r.key, keysync_detail(r.detail, 'raw_key'),
       CASE WHEN :namespaced THEN :authority || '-' || s.system || '-' || r.key
            ELSE r.key END,
       keysync_detail(r.detail, 'entity_type'), keysync_detail(r.detail, 'location_ref'),
       keysync_detail(r.detail, 'last_seen_at')
FROM staging_candidates c
CROSS JOIN staging_systems s
CROSS JOIN staging_rows r
WHERE c.kind = 'missing_in_A' AND s.system_id = c.system_id AND r.row_id = c.first_row
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = s.system AND x.key = r.key AND (x.until = '' OR x.until > :now))
ORDER BY s.system, r.key;
