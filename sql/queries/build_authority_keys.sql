-- The authority's keys a namespaced master key could equal: those starting
-- with '<authority>-', from each staging file's row_id range of the
-- authority (staging_authority_rows).
INSERT INTO staging_authority_keys (key)
SELECT key FROM staging_authority_rows
WHERE substr(key, 1, length(:authority) + 1) = :authority || '-'
ON CONFLICT (key) DO NOTHING;
