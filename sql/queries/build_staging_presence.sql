-- Which systems have each key (mask), on two or more rows (dup_mask), on
-- three or more (multi_mask): bit system_id. staging_keys is clustered by
-- key, so this is one ordered scan without a sort.
INSERT INTO staging_presence (key, mask, dup_mask, multi_mask)
SELECT key, SUM(1 << system_id),
       SUM(CASE WHEN row_count > 1 THEN 1 << system_id ELSE 0 END),
       SUM(CASE WHEN row_count > 2 THEN 1 << system_id ELSE 0 END)
FROM staging_keys
GROUP BY key;
