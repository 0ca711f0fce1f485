-- The file's findings with the fields of their first-seen rows, read in
-- file order (staging_candidates is in first_row order), and, for a
-- duplicate, its number of rows, its distinct raw spellings in first-seen
-- order and its cause.
--
-- A duplicate's cause says why its rows share one key: repeated (every row
-- has the same raw spelling: the source repeats the key), normalized (two or
-- more spellings, none on more than one row: normalization made them one) or
-- mixed (otherwise). It follows from the rows and the number of distinct
-- spellings, read from the duplicate's rows that the detail reads anyway;
-- other kinds leave it empty.
INSERT INTO staging_findings (kind, system, key, source_key, entity_type, location_ref,
                              last_seen_at, count, detail, cause, key_id)
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
FROM staging_candidates c
CROSS JOIN staging_systems s
CROSS JOIN staging_rows r
WHERE s.system_id = c.system_id AND r.row_id = c.first_row;
