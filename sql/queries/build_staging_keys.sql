-- K(s) of SPEC §5 for every system at once: one ordered pass over
-- staging_rows_by_key, grouping on key_id alone, gives per key which systems
-- have it (mask: bit system_id set) and which have it on two or more rows
-- (dup_mask), from one count per system — /*mask*/ and /*dup_mask*/ are
-- written out for the run's systems by pkg/sqlite (maskExprs), e.g.
-- ((SUM(system_id = 1) > 0) << 1) | ((SUM(system_id = 2) > 0) << 2) | …
-- (&, |, << and >> bind equally tight in SQLite: every term is bracketed) —
-- and whether the key's rows disagree on key_check: two different keys whose
-- key_id collided, which resolve_collisions.sql then separates. Nothing is
-- sorted: the index is in key_id order.
INSERT INTO staging_keys (key_id, mask, dup_mask, collided)
SELECT key_id, /*mask*/, /*dup_mask*/, MIN(key_check) <> MAX(key_check)
FROM staging_rows
GROUP BY key_id;
