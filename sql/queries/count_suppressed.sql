-- Per system, the active suppressions that silenced a finding of this run:
-- the key is missing in A or from the system, or duplicated in it (a
-- candidate of the system). Skipped at once when there are no suppressions.
UPDATE staging_systems
SET suppressed = (
    SELECT COUNT(DISTINCT r.key)
    FROM staging_candidates c
    CROSS JOIN staging_rows r
    WHERE c.system_id = staging_systems.system_id AND r.row_id = c.first_row
      AND EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = staging_systems.system AND x.key = r.key
                    AND (x.until = '' OR x.until > :now)))
WHERE EXISTS (SELECT 1 FROM suppressions);
