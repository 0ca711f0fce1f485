-- The file's findings before suppressions and the grace period: the
-- anti-joins of SPEC §5 read off the presence masks, each with the fields of
-- the first-seen row it reports (the lowest row_id of the key in the system:
-- file order), read by index seeks. Most keys are in every system and on one
-- row each; the conditions on k alone skip them before any system is
-- looked at.
--
-- A duplicate's cause says why its rows share one key: repeated (every row
-- has the same raw spelling: the source repeats the key), normalized (two or
-- more spellings, none on more than one row: normalization made them one) or
-- mixed (otherwise). It follows from the rows and the number of distinct
-- spellings, read from the duplicate's rows that the detail reads anyway;
-- other kinds leave it empty.
INSERT INTO staging_findings (kind, system, key, source_key, entity_type, location_ref,
                              last_seen_at, count, detail, cause, key_id)
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
SELECT c.kind, s.system, r.key,
       keysync_detail(r.detail, 'raw_key'), keysync_detail(r.detail, 'entity_type'),
       keysync_detail(r.detail, 'location_ref'), keysync_detail(r.detail, 'last_seen_at'),
       CASE WHEN c.kind = 'duplicate'
            THEN (SELECT COUNT(*) FROM staging_rows d
                  WHERE d.key_id = c.key_id AND d.system_id = c.system_id)
            ELSE 0 END,
       CASE WHEN c.kind = 'duplicate'
            THEN (SELECT group_concat(v.raw_key, ' | ' ORDER BY v.first_row)
                  FROM (SELECT keysync_detail(d.detail, 'raw_key') AS raw_key, MIN(d.row_id) AS first_row
                        FROM staging_rows d
                        WHERE d.key_id = c.key_id AND d.system_id = c.system_id
                        GROUP BY 1) v)
            ELSE '' END,
       CASE WHEN c.kind = 'duplicate'
            THEN (SELECT CASE WHEN COUNT(*) = 1 THEN 'repeated'
                              WHEN COUNT(*) = SUM(v.n) THEN 'normalized'
                              ELSE 'mixed' END
                  FROM (SELECT COUNT(*) AS n
                        FROM staging_rows d
                        WHERE d.key_id = c.key_id AND d.system_id = c.system_id
                        GROUP BY keysync_detail(d.detail, 'raw_key')) v)
            ELSE '' END,
       c.key_id
FROM candidates c
CROSS JOIN staging_systems s
CROSS JOIN staging_rows r
WHERE s.system_id = c.system_id
  AND r.row_id = (SELECT MIN(f.row_id) FROM staging_rows f
                  WHERE f.key_id = c.key_id AND f.system_id = c.row_system_id);
