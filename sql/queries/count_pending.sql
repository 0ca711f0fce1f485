-- Per peer, the keys of the authority it lacks that are still within
-- grace_period (not suppressed): reported as pending, not as missing. The
-- conditions mirror insert_missing_from_system.sql.
UPDATE staging_systems
SET pending = (
    SELECT COUNT(*)
    FROM staging_candidates c
    CROSS JOIN staging_rows r
    WHERE c.system_id = staging_systems.system_id AND c.kind = 'missing_from_system'
      AND r.row_id = c.first_row
      AND NOT EXISTS (SELECT 1 FROM suppressions x
                      WHERE x.system = staging_systems.system AND x.key = r.key
                        AND (x.until = '' OR x.until > :now))
      AND (julianday(:now) - julianday(COALESCE(NULLIF(keysync_detail(r.detail, 'last_seen_at'), ''),
               (SELECT f.first_seen_at FROM authority_first_seen f WHERE f.key = r.key),
               :first_seen))) * 86400.0 < :grace_seconds)
WHERE role = 'peer' AND :grace_seconds > 0;
