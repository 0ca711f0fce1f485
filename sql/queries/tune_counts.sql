-- keysync tune: the comparison of SPEC §5 redone over a run's staged rows
-- with other normalization rules. The caller fills in the staged CTE: each
-- accepted row's new key and system_id, without the rows the rules
-- normalize to nothing (they would be rejected as empty_key), in one of two
-- forms. By hash (pkg/sqlite/tunerows.go): the key is a 63-bit key_id, as a
-- run's, from a virtual table that returns the rows in key_id order, so the
-- GROUP BY streams instead of sorting; the caller has checked that no two
-- keys share a key_id. Exact, when two do: the keys as text, normalized in
-- SQL by keysync_normalize_row. Both read the rows of every staging file
-- together, as an option set may join keys a run put in different files.
-- It returns, summed over the peers, the keys they share with the authority
-- (matched), the keys the authority lacks (missing_in_A) and the keys on two
-- or more rows (duplicate_keys), and the authority's distinct keys, from
-- which the caller derives missing_from_system. The per-key sums over the
-- peers are written out per system, as maskExprs does for a run.
WITH staged (key, system_id) AS (
    /*staged*/
),
per_key AS (
    SELECT SUM(system_id = :authority_id) > 0 AS in_a,
           /*peers_with*/ AS peers_with,
           /*peers_dup*/ AS peers_dup
    FROM staged
    GROUP BY key
)
SELECT COALESCE(SUM(in_a * peers_with), 0),
       COALESCE(SUM((1 - in_a) * peers_with), 0),
       COALESCE(SUM(peers_dup), 0),
       COALESCE(SUM(in_a), 0)
FROM per_key;
