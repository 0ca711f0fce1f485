-- Per peer, the keys of the authority it lacks that are still within
-- grace_period (not suppressed): reported as pending, not as missing. The
-- conditions mirror insert_missing_from_system.sql.
UPDATE staging_systems
SET pending = (
    SELECT COUNT(*)
    FROM staging_presence p
    CROSS JOIN staging_keys a
    CROSS JOIN staging_rows r
    WHERE :grace_seconds > 0
      AND (p.mask >> :authority_id) & 1 = 1
      AND (p.mask >> staging_systems.system_id) & 1 = 0
      AND a.key = p.key AND a.system_id = :authority_id
      AND r.row_id = a.first_row
      AND NOT EXISTS (SELECT 1 FROM suppressions x
                      WHERE x.system = staging_systems.system AND x.key = p.key
                        AND (x.until = '' OR x.until > :now))
      AND (julianday(:now) - julianday(COALESCE(NULLIF(r.last_seen_at, ''),
               (SELECT f.first_seen_at FROM authority_first_seen f WHERE f.key = p.key),
               :first_seen))) * 86400.0 < :grace_seconds)
WHERE role = 'peer' AND :grace_seconds > 0;
