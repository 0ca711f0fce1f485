-- pending_findings: the keys of the authority a peer lacks that grace_period
-- holds back, one row per (system, key): not suppressed, and younger than the
-- grace period. A key's age runs from its last_seen_at, or else from its
-- first appearance in A (:first_seen when it has none recorded: see
-- record_authority_first_seen.sql). Runs only with a grace period, and
-- before insert_missing_from_system.sql, which leaves these keys out;
-- insert_run_systems.sql counts them as the system's pending. The one place
-- the grace condition is written.
INSERT INTO pending_findings (run_id, system, key)
SELECT :run_id, f.system, f.key
FROM staging_findings f
WHERE f.kind = 'missing_from_system'
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = f.system AND x.key = f.key AND (x.until = '' OR x.until > :now))
  AND (julianday(:now) - julianday(COALESCE(NULLIF(f.last_seen_at, ''),
           (SELECT a.first_seen_at FROM authority_first_seen a WHERE a.key = f.key),
           :first_seen))) * 86400.0 < :grace_seconds;
