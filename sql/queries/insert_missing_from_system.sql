-- missing_from_system: for each peer, each key of the authority it lacks (the
-- candidates of staging), with the authority's first-seen row. A suppressed
-- (system, key) and a key still within grace_period are left out.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_from_system', s.system, r.key, keysync_detail(r.detail, 'raw_key'), r.key,
       keysync_detail(r.detail, 'entity_type'), keysync_detail(r.detail, 'location_ref'),
       keysync_detail(r.detail, 'last_seen_at')
FROM staging_candidates c
CROSS JOIN staging_systems s
CROSS JOIN staging_rows r
WHERE c.kind = 'missing_from_system' AND s.system_id = c.system_id AND r.row_id = c.first_row
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = s.system AND x.key = r.key AND (x.until = '' OR x.until > :now))
  -- grace_period: a key younger than it is pending, not yet missing. Its age
  -- runs from its last_seen_at, or else from its first appearance in A
  -- (:first_seen when it has none recorded: see record_authority_first_seen.sql).
  AND NOT (:grace_seconds > 0
           AND (julianday(:now) - julianday(COALESCE(NULLIF(keysync_detail(r.detail, 'last_seen_at'), ''),
                    (SELECT f.first_seen_at FROM authority_first_seen f WHERE f.key = r.key),
                    :first_seen))) * 86400.0 < :grace_seconds)
ORDER BY s.system, r.key;
