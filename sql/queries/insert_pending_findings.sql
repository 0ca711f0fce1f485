-- pending_findings: the keys of the authority a peer lacks that grace_period
-- holds back, one row per (system, key). Runs only with a grace period. The
-- conditions mirror insert_missing_from_system.sql (which leaves these out)
-- and the pending count of insert_run_systems.sql: not suppressed, and younger
-- than the grace period, counted from last_seen_at, else the key's first
-- appearance in A, else :first_seen.
INSERT INTO pending_findings (run_id, system, key)
SELECT :run_id, f.system, f.key
FROM staging_findings f
WHERE f.kind = 'missing_from_system'
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = f.system AND x.key = f.key AND (x.until = '' OR x.until > :now))
  AND (julianday(:now) - julianday(COALESCE(NULLIF(f.last_seen_at, ''),
           (SELECT a.first_seen_at FROM authority_first_seen a WHERE a.key = f.key),
           :first_seen))) * 86400.0 < :grace_seconds;
