-- duplicate: each key with two or more accepted rows in one system (the
-- authority included); detail lists the distinct raw spellings in first-seen order.
INSERT INTO findings (run_id, kind, system, key, count, detail)
SELECT :run_id, 'duplicate', s.system, k.key, k.row_count,
       (SELECT group_concat(v.raw_key, ' | ' ORDER BY v.first_record)
        FROM (SELECT r.raw_key, MIN(r.record) AS first_record
              FROM staging_rows r
              WHERE r.system_id = k.system_id AND r.key = k.key
              GROUP BY r.raw_key) v)
FROM staging_keys k
JOIN staging_systems s ON s.system_id = k.system_id
WHERE k.row_count > 1
ORDER BY s.system, k.key;
