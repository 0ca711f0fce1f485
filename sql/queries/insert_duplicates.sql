-- duplicate: each key with two or more accepted rows in one system (the
-- authority included); count is its rows, detail its distinct raw spellings
-- in first-seen order, read from its rows by index seeks.
INSERT INTO findings (run_id, kind, system, key, count, detail)
SELECT :run_id, 'duplicate', s.system, r.key,
       (SELECT COUNT(*) FROM staging_rows d
        WHERE d.key_id = c.key_id AND d.system_id = c.system_id),
       (SELECT group_concat(v.raw_key, ' | ' ORDER BY v.first_row)
        FROM (SELECT keysync_detail(d.detail, 'raw_key') AS raw_key, MIN(d.row_id) AS first_row
              FROM staging_rows d
              WHERE d.key_id = c.key_id AND d.system_id = c.system_id
              GROUP BY 1) v)
FROM staging_candidates c
CROSS JOIN staging_systems s
CROSS JOIN staging_rows r
WHERE c.kind = 'duplicate' AND s.system_id = c.system_id AND r.row_id = c.first_row
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = s.system AND x.key = r.key AND (x.until = '' OR x.until > :now))
ORDER BY s.system, r.key;
