-- Each system's distinct keys, duplicate keys and keys it shares with the
-- authority (matched), from the few distinct (mask, dup_mask) pairs of
-- staging_keys: one pass over it, then a sum per system over the pairs.
WITH pairs AS (
    SELECT mask, dup_mask, COUNT(*) AS n FROM staging_keys GROUP BY mask, dup_mask
)
UPDATE staging_systems
SET distinct_keys = (SELECT COALESCE(SUM(n), 0) FROM pairs
                     WHERE (mask >> staging_systems.system_id) & 1 = 1),
    duplicate_keys = (SELECT COALESCE(SUM(n), 0) FROM pairs
                      WHERE (dup_mask >> staging_systems.system_id) & 1 = 1),
    matched = (SELECT COALESCE(SUM(n), 0) FROM pairs
               WHERE (mask >> staging_systems.system_id) & (mask >> :authority_id) & 1 = 1);
