-- keysync explain: the staged rows of one normalized key (:key) in one
-- staging file (schema staging_N, replaced by the file's), at most :limit
-- per system in file order (the first-seen row first), each with its
-- system's row count. All rows of a key are in one file. The key's key_id is
-- found through the file's findings when it has one (a short scan), else by
-- scanning staging_rows for the first row of the key (staging_rows has no
-- index on key text); its rows are then read by staging_rows_by_key.
WITH id (key_id) AS (
    SELECT key_id FROM (
        SELECT key_id FROM staging_N.staging_findings WHERE key = :key
        UNION ALL
        SELECT key_id FROM staging_N.staging_rows WHERE key = :key)
    LIMIT 1
),
key_rows AS (
    SELECT r.system_id, r.row_id, r.detail,
           ROW_NUMBER() OVER (PARTITION BY r.system_id ORDER BY r.row_id) AS n,
           COUNT(*) OVER (PARTITION BY r.system_id) AS total
    FROM staging_N.staging_rows r
    WHERE r.key_id = (SELECT key_id FROM id) AND r.key = :key
)
SELECT s.system, k.total, keysync_detail(k.detail, 'record'),
       keysync_detail(k.detail, 'raw_key'), keysync_detail(k.detail, 'entity_type'),
       keysync_detail(k.detail, 'location_ref'), keysync_detail(k.detail, 'last_seen_at')
FROM key_rows k
JOIN staging_N.staging_systems s ON s.system_id = k.system_id
WHERE k.n <= :limit
ORDER BY s.system, k.row_id;
