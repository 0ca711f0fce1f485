-- keysync tune: the comparison of SPEC §5 redone over the staged rows of
-- every staging file with normalization variant :variant
-- (keysync_normalize, pkg/sqlite/tune.go) instead of the run's rules. The
-- files split the rows by the run's keys, and a variant may join keys of
-- both files, so the rows of both are grouped together, in one GROUP BY on
-- the new key. Rows the variant normalizes to nothing would be rejected
-- (empty_key) and are left out. It returns, summed over the peers, the keys
-- they share with the authority (matched), the keys the authority lacks
-- (missing_in_A) and the keys on two or more rows (duplicate_keys), and the
-- authority's distinct keys, from which the caller derives
-- missing_from_system. The caller fills in the staged CTE (a UNION ALL over
-- the attached files) and the per-key sums over the peers, written out per
-- system as maskExprs does for a run.
WITH staged (system_id, key) AS (
    /*staged*/
),
per_key AS (
    SELECT SUM(system_id = :authority_id) > 0 AS in_a,
           /*peers_with*/ AS peers_with,
           /*peers_dup*/ AS peers_dup
    FROM staged
    WHERE key <> ''
    GROUP BY key
)
SELECT COALESCE(SUM(in_a * peers_with), 0),
       COALESCE(SUM((1 - in_a) * peers_with), 0),
       COALESCE(SUM(peers_dup), 0),
       COALESCE(SUM(in_a), 0)
FROM per_key;
