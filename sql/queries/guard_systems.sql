-- What the safety guards (SPEC §11) look at, per system of the staged run:
-- its rows taking part (accepted, not filtered), those in the last successful run that was not
-- a dry run (NULL when there is none or the system was not in it), that run,
-- how many of the authority's keys it lacks, and the authority's number of keys.
SELECT s.system,
       s.rows_read - s.rows_rejected - s.filtered,
       (SELECT rs.rows_read - rs.rows_rejected - rs.filtered
        FROM run_systems rs
        WHERE rs.system = s.system
          AND rs.run_id = (SELECT MAX(run_id) FROM runs
                           WHERE status = 'succeeded' AND mode = 'normal')),
       (SELECT MAX(run_id) FROM runs WHERE status = 'succeeded' AND mode = 'normal'),
       (SELECT COUNT(*) FROM staging_findings c
        WHERE c.system = s.system AND c.kind = 'missing_from_system'),
       (SELECT a.distinct_keys FROM staging_systems a WHERE a.system_id = :authority_id),
       s.rows_read, s.rows_rejected
FROM staging_systems s
ORDER BY s.system_id;
