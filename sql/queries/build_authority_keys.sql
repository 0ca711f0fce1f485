-- The authority's keys a namespaced master key could equal: those starting
-- with '<authority>-'. Its rows are one row_id range (systems are staged one
-- after the other), read in order.
INSERT INTO staging_authority_keys (key)
SELECT r.key
FROM staging_systems a
CROSS JOIN staging_rows r
WHERE a.system_id = :authority_id
  AND r.row_id BETWEEN a.first_row AND a.last_row
  AND substr(r.key, 1, length(:authority) + 1) = :authority || '-'
ON CONFLICT (key) DO NOTHING;
