-- The file's findings before suppressions and the grace period: the
-- anti-joins of SPEC §5 read off the presence masks, each with the first-seen
-- row it reports (the lowest row_id of the key in the system: file order),
-- found by an index seek. Most keys are in every system and on one row each;
-- the conditions on k alone skip them before any system is looked at. Stored
-- in first_row order, so build_staging_findings.sql then reads the rows in
-- file order instead of jumping about (twice as fast at 5 x 10M rows, whose
-- staging files are far larger than any cache).
INSERT INTO staging_candidates (kind, system_id, key_id, first_row)
WITH candidates (kind, system_id, key_id, row_system_id) AS (
    -- missing_in_A: K(s) \ K(A), the peer's first row
    SELECT 'missing_in_A', s.system_id, k.key_id, s.system_id
    FROM staging_keys k
    CROSS JOIN staging_systems s
    WHERE k.mask <> :full_mask AND (k.mask >> :authority_id) & 1 = 0
      AND s.role = 'peer' AND (k.mask >> s.system_id) & 1 = 1
    UNION ALL
    -- missing_from_system: K(A) \ K(s), the authority's first row
    SELECT 'missing_from_system', s.system_id, k.key_id, :authority_id
    FROM staging_keys k
    CROSS JOIN staging_systems s
    WHERE k.mask <> :full_mask AND (k.mask >> :authority_id) & 1 = 1
      AND s.role = 'peer' AND (k.mask >> s.system_id) & 1 = 0
    UNION ALL
    -- duplicate: two or more rows in one system, the authority included
    SELECT 'duplicate', s.system_id, k.key_id, s.system_id
    FROM staging_keys k
    CROSS JOIN staging_systems s
    WHERE k.dup_mask <> 0 AND (k.dup_mask >> s.system_id) & 1 = 1
)
SELECT c.kind, c.system_id, c.key_id,
       (SELECT MIN(f.row_id) FROM staging_rows f
        WHERE f.key_id = c.key_id AND f.system_id = c.row_system_id) AS first_row
FROM candidates c
ORDER BY first_row;
