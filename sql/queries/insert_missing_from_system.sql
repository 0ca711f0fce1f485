-- missing_from_system: for each peer, each key of the authority it lacks —
-- the anti-join K(A) \ K(s), read off the presence mask — with the
-- authority's first-seen row. A suppressed (system, key) and a key still
-- within grace_period are left out.
-- CROSS JOIN fixes the join order: one scan of staging_presence, then point
-- lookups (see insert_missing_in_a.sql).
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_from_system', s.system, p.key, r.raw_key, p.key,
       r.entity_type, r.location_ref, r.last_seen_at
FROM staging_presence p
CROSS JOIN staging_systems s
CROSS JOIN staging_keys a
CROSS JOIN staging_rows r
WHERE (p.mask >> :authority_id) & 1 = 1
  AND s.role = 'peer' AND (p.mask >> s.system_id) & 1 = 0
  AND a.key = p.key AND a.system_id = :authority_id
  AND r.row_id = a.first_row
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = s.system AND x.key = p.key AND (x.until = '' OR x.until > :now))
  -- grace_period: a key younger than it is pending, not yet missing. Its age
  -- runs from its last_seen_at, or else from its first appearance in A
  -- (:first_seen when it has none recorded: see record_authority_first_seen.sql).
  AND NOT (:grace_seconds > 0
           AND (julianday(:now) - julianday(COALESCE(NULLIF(r.last_seen_at, ''),
                    (SELECT f.first_seen_at FROM authority_first_seen f WHERE f.key = p.key),
                    :first_seen))) * 86400.0 < :grace_seconds);
