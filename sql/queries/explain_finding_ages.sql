-- keysync explain: the findings of run :run_id whose key or master key is
-- :key, each with its streak, counted exactly as history_finding_ages.sql
-- counts it (see there), but only over the findings of that key.
WITH series AS (
    SELECT run_id, started_at, ROW_NUMBER() OVER (ORDER BY run_id) AS seq
    FROM runs
    WHERE run_id = :run_id
       OR (run_id < :run_id AND status = 'succeeded' AND mode = 'normal')
),
mine AS (
    SELECT DISTINCT kind, system, key FROM findings
    WHERE run_id = :run_id AND (key = :key OR master_key = :key)
),
seen AS (
    SELECT DISTINCT f.kind, f.system, f.key, s.seq
    FROM series s
    JOIN findings f ON f.run_id = s.run_id
    JOIN mine m ON m.kind = f.kind AND m.system = f.system AND m.key = f.key
),
islands AS (
    SELECT kind, system, key, seq,
           seq - ROW_NUMBER() OVER (PARTITION BY kind, system, key ORDER BY seq) AS island
    FROM seen
),
streaks AS (
    SELECT i.kind, i.system, i.key, MIN(i.seq) AS first_seq, COUNT(*) AS age_runs
    FROM islands i
    JOIN islands cur ON cur.kind = i.kind AND cur.system = i.system AND cur.key = i.key
                    AND cur.island = i.island
                    AND cur.seq = (SELECT MAX(seq) FROM series)
    GROUP BY i.kind, i.system, i.key
)
SELECT f.run_id, f.kind, f.system, f.key, f.source_key, f.master_key, f.status,
       f.count, f.detail,
       first.run_id AS first_seen_run, first.started_at AS first_seen_at,
       st.age_runs,
       CAST(julianday(cur.started_at) - julianday(first.started_at) AS INTEGER) AS age_days
FROM findings f
JOIN streaks st ON st.kind = f.kind AND st.system = f.system AND st.key = f.key
JOIN series first ON first.seq = st.first_seq
JOIN runs cur ON cur.run_id = f.run_id
WHERE f.run_id = :run_id AND (f.key = :key OR f.master_key = :key)
ORDER BY f.kind, f.system, f.key;
