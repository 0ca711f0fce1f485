-- The exact path, for the rows of key_ids that collided (two different keys
-- hashed alike): each of their keys gets an exact id of its own, minus the
-- row_id of its first row (hashed ids are never negative), found by comparing
-- the key text; then their staging_keys rows are derived again.
CREATE TEMP TABLE collided_rows AS
SELECT row_id, key FROM staging_rows
WHERE key_id IN (SELECT key_id FROM staging_keys WHERE collided);
CREATE INDEX temp.collided_rows_by_key ON collided_rows (key, row_id);
UPDATE staging_rows
SET key_id = -(SELECT MIN(c.row_id) FROM collided_rows c WHERE c.key = staging_rows.key)
WHERE row_id IN (SELECT row_id FROM collided_rows);
DELETE FROM staging_keys WHERE collided;
INSERT INTO staging_keys (key_id, mask, dup_mask, collided)
SELECT key_id, /*mask*/, /*dup_mask*/, 0
FROM staging_rows
WHERE key_id < 0
GROUP BY key_id;
DROP TABLE collided_rows;
