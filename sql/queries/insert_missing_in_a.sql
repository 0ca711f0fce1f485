-- missing_in_A: for each peer, each of its keys the authority lacks — the
-- anti-join K(s) \ K(A), read off the presence mask — with the peer's
-- first-seen row and the proposed master key. status is filled in once the
-- registry outcome is known. A suppressed (system, key) is left out.
-- CROSS JOIN fixes the join order (SQLite keeps it as written): one scan of
-- staging_presence, then point lookups. Left to itself the planner would
-- scan staging_keys, which has a row per key and system.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_in_A', s.system, p.key, r.raw_key,
       CASE WHEN :namespaced THEN :authority || '-' || s.system || '-' || p.key
            ELSE p.key END,
       r.entity_type, r.location_ref, r.last_seen_at
FROM staging_presence p
CROSS JOIN staging_systems s
CROSS JOIN staging_keys k
CROSS JOIN staging_rows r
WHERE (p.mask >> :authority_id) & 1 = 0
  AND s.role = 'peer' AND (p.mask >> s.system_id) & 1 = 1
  AND k.key = p.key AND k.system_id = s.system_id
  AND r.row_id = k.first_row
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = s.system AND x.key = p.key AND (x.until = '' OR x.until > :now));
