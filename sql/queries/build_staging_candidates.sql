-- The run's findings before suppressions and the grace period: the
-- anti-joins of SPEC §5 read off the presence masks, with the first-seen row
-- each reports (the lowest row_id of the key in the system: file order).
-- Most keys are in every system and on one row each; the conditions on k
-- alone skip them before any system is looked at.
INSERT INTO staging_candidates (kind, system_id, key_id, first_row)
-- missing_in_A: K(s) \ K(A), the peer's first row
SELECT 'missing_in_A', s.system_id, k.key_id,
       (SELECT MIN(r.row_id) FROM staging_rows r WHERE r.key_id = k.key_id AND r.system_id = s.system_id)
FROM staging_keys k
CROSS JOIN staging_systems s
WHERE k.mask <> :full_mask AND (k.mask >> :authority_id) & 1 = 0
  AND s.role = 'peer' AND (k.mask >> s.system_id) & 1 = 1
UNION ALL
-- missing_from_system: K(A) \ K(s), the authority's first row
SELECT 'missing_from_system', s.system_id, k.key_id,
       (SELECT MIN(r.row_id) FROM staging_rows r WHERE r.key_id = k.key_id AND r.system_id = :authority_id)
FROM staging_keys k
CROSS JOIN staging_systems s
WHERE k.mask <> :full_mask AND (k.mask >> :authority_id) & 1 = 1
  AND s.role = 'peer' AND (k.mask >> s.system_id) & 1 = 0
UNION ALL
-- duplicate: two or more rows in one system, the authority included
SELECT 'duplicate', s.system_id, k.key_id,
       (SELECT MIN(r.row_id) FROM staging_rows r WHERE r.key_id = k.key_id AND r.system_id = s.system_id)
FROM staging_keys k
CROSS JOIN staging_systems s
WHERE k.dup_mask <> 0 AND (k.dup_mask >> s.system_id) & 1 = 1;
