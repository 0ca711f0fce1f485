-- Per system, the active suppressions that silenced a finding of this run:
-- the key is missing in A or from the system, or duplicated in it.
UPDATE staging_systems
SET suppressed = (
    SELECT COUNT(*)
    FROM suppressions x
    JOIN staging_presence p ON p.key = x.key
    WHERE x.system = staging_systems.system
      AND (x.until = '' OR x.until > :now)
      AND ((staging_systems.role = 'peer'
            AND ((p.mask >> staging_systems.system_id) & 1) <> ((p.mask >> :authority_id) & 1))
           OR (p.dup_mask >> staging_systems.system_id) & 1 = 1));
