-- How long one system's input has stayed byte-identical before run :run_id:
-- the consecutive succeeded normal runs, newest first, whose run_systems row
-- of :system has the fingerprint (:bytes, :sha256). Failed, blocked and dry
-- runs neither extend nor break the streak; a succeeded normal run that read
-- other bytes, or did not read :system at all, ends it. Returns the streak's
-- length, its first run and its last run (NULL, NULL when it is empty).
WITH prior AS (
    SELECT r.run_id,
           COALESCE(s.input_bytes = :bytes AND s.input_sha256 = :sha256, 0) AS same
    FROM runs r
    LEFT JOIN run_systems s ON s.run_id = r.run_id AND s.system = :system
    WHERE r.run_id < :run_id AND r.status = 'succeeded' AND r.mode = 'normal'
),
streak AS (
    SELECT run_id FROM prior
    WHERE run_id > COALESCE((SELECT MAX(run_id) FROM prior WHERE NOT same), 0)
)
SELECT COUNT(*), MIN(run_id), MAX(run_id) FROM streak;
