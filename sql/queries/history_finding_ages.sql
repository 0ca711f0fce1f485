-- The findings of run :run_id, each with how long it has been open. A
-- finding's identity is (kind, system, key). Its age is counted over the run
-- series: every succeeded normal run before :run_id, then :run_id itself (so a
-- dry run is aged against the normal runs before it, and is never part of
-- another run's series). Failed and blocked runs are not in the series: they
-- found nothing, so they neither extend nor break a streak. first_seen_run is
-- the first run of the finding's current unbroken streak of series runs that
-- ends at :run_id; age_runs counts the runs of that streak (1 = new);
-- age_days is whole days from first_seen_run's start to :run_id's start.
-- v_finding_age (sql/migrations/00002_views.sql) applies the same rule to the
-- latest succeeded run.
WITH series AS (
    SELECT run_id, started_at, ROW_NUMBER() OVER (ORDER BY run_id) AS seq
    FROM runs
    WHERE run_id = :run_id
       OR (run_id < :run_id AND status = 'succeeded' AND mode = 'normal')
),
seen AS (
    SELECT DISTINCT f.kind, f.system, f.key, s.seq
    FROM series s
    JOIN findings f ON f.run_id = s.run_id
),
islands AS (
    -- gaps and islands: consecutive seq values share one island number
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
WHERE f.run_id = :run_id
ORDER BY f.kind, f.system, f.key;
