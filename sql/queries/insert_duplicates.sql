-- duplicate: each key with two or more accepted rows in one system (the
-- authority included); count is its rows, detail its distinct raw spellings
-- in first-seen order. One scan of the staged rows picks out the rows of
-- duplicate keys.
INSERT INTO findings (run_id, kind, system, key, count, detail)
SELECT :run_id, 'duplicate', s.system, d.key, d.row_count,
       (SELECT group_concat(v.raw_key, ' | ' ORDER BY v.first_record)
        FROM (SELECT r.raw_key, MIN(r.record) AS first_record
              FROM staging_dup_rows r
              WHERE r.system_id = d.system_id AND r.key = d.key
              GROUP BY r.raw_key) v)
FROM (SELECT key, system_id, row_count FROM staging_keys WHERE row_count > 1) d
JOIN staging_systems s ON s.system_id = d.system_id
WHERE NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = s.system AND x.key = d.key AND (x.until = '' OR x.until > :now));
