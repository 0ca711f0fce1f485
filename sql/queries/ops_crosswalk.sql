-- ops_crosswalk: the registry as a crosswalk (`keysync registry export`): one
-- row per master key and system that reported it, by master key and system.
--
-- A system's source_key is the raw key of its newest report of the master key
-- (a missing_in_A finding of a succeeded normal run; dry runs change nothing,
-- so they are left out). The proposing system of the registry row is always
-- listed, with the registry's source_key when none of its reports is kept any
-- more (`keysync prune`). Conflicts are not registered and never appear.
WITH reported AS (
    SELECT f.master_key, f.system, f.source_key,
           ROW_NUMBER() OVER (PARTITION BY f.master_key, f.system ORDER BY f.run_id DESC) AS newest
    FROM findings f
    JOIN runs r ON r.run_id = f.run_id
    WHERE f.kind = 'missing_in_A' AND r.status = 'succeeded' AND r.mode = 'normal'
),
crosswalk AS (
    SELECT master_key, system, source_key FROM reported WHERE newest = 1
    UNION ALL
    SELECT g.master_key, g.source_system, g.source_key
    FROM master_key_registry g
    WHERE NOT EXISTS (SELECT 1 FROM reported r
                      WHERE r.master_key = g.master_key AND r.system = g.source_system)
)
SELECT c.master_key, c.system, c.source_key, g.status
FROM crosswalk c
JOIN master_key_registry g ON g.master_key = c.master_key
ORDER BY c.master_key, c.system;
