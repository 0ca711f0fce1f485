-- +goose Up

-- "The latest run" of the views is the newest NORMAL run that succeeded
-- (issue [safe-defaults] point 4): a dry run writes its reports to
-- output_dir/dry-run/ and never becomes the run the output directory, the
-- views, `findings` and `changes` speak of. Dry runs stay in runs and
-- run_systems, and `findings --run ID` reaches them. The views are dropped and
-- created again (SQLite has no CREATE OR REPLACE VIEW); the other views of
-- 00002 are left alone.

DROP VIEW v_finding_age;
DROP VIEW v_latest_run_summary;

-- v_latest_run_summary: reconciliation_summary.csv of the latest normal run,
-- with the fingerprint of each input it read.
CREATE VIEW v_latest_run_summary AS
SELECT r.run_id, r.started_at, r.mode,
       s.system, s.role, s.rows_read, s.rows_rejected, s.distinct_keys, s.duplicate_keys,
       s.matched, s.missing_in_A, s.missing_from_system, s.pending, s.suppressed,
       s.input_path, s.input_bytes, s.input_sha256
FROM runs r
JOIN run_systems s ON s.run_id = r.run_id
WHERE r.run_id = (SELECT MAX(run_id) FROM runs WHERE status = 'succeeded' AND mode = 'normal')
ORDER BY s.role <> 'authority', s.system;

-- v_finding_age: the findings of the latest normal run, each with the first
-- run of its current unbroken streak and its age in runs (1 = new) and whole
-- days. A finding is (kind, system, key). The streak is counted over the
-- succeeded normal runs up to the latest one: failed and blocked runs found
-- nothing, so they neither extend nor break a streak, and dry runs are never
-- part of it. The same rule as `keysync changes`
-- (sql/queries/history_finding_ages.sql).
CREATE VIEW v_finding_age AS
WITH target AS (
    SELECT MAX(run_id) AS run_id FROM runs WHERE status = 'succeeded' AND mode = 'normal'
),
series AS (
    SELECT r.run_id, r.started_at, ROW_NUMBER() OVER (ORDER BY r.run_id) AS seq
    FROM runs r, target t
    WHERE r.run_id = t.run_id
       OR (r.run_id < t.run_id AND r.status = 'succeeded' AND r.mode = 'normal')
),
seen AS (
    SELECT DISTINCT f.kind, f.system, f.key, s.seq
    FROM series s
    JOIN findings f ON f.run_id = s.run_id
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
SELECT f.run_id, f.kind, f.system, f.key, f.master_key,
       first.run_id AS first_seen_run, first.started_at AS first_seen_at,
       st.age_runs,
       CAST(julianday(cur.started_at) - julianday(first.started_at) AS INTEGER) AS age_days
FROM target t
JOIN findings f ON f.run_id = t.run_id
JOIN streaks st ON st.kind = f.kind AND st.system = f.system AND st.key = f.key
JOIN series first ON first.seq = st.first_seq
JOIN runs cur ON cur.run_id = f.run_id
ORDER BY st.age_runs DESC, f.kind, f.system, f.key;

-- +goose Down
-- The views of 00002: "the latest run" is the newest succeeded run of either mode.
DROP VIEW v_finding_age;
DROP VIEW v_latest_run_summary;

CREATE VIEW v_latest_run_summary AS
SELECT r.run_id, r.started_at, r.mode,
       s.system, s.role, s.rows_read, s.rows_rejected, s.distinct_keys, s.duplicate_keys,
       s.matched, s.missing_in_A, s.missing_from_system, s.pending, s.suppressed,
       s.input_path, s.input_bytes, s.input_sha256
FROM runs r
JOIN run_systems s ON s.run_id = r.run_id
WHERE r.run_id = (SELECT MAX(run_id) FROM runs WHERE status = 'succeeded')
ORDER BY s.role <> 'authority', s.system;

CREATE VIEW v_finding_age AS
WITH target AS (
    SELECT MAX(run_id) AS run_id FROM runs WHERE status = 'succeeded'
),
series AS (
    SELECT r.run_id, r.started_at, ROW_NUMBER() OVER (ORDER BY r.run_id) AS seq
    FROM runs r, target t
    WHERE r.run_id = t.run_id
       OR (r.run_id < t.run_id AND r.status = 'succeeded' AND r.mode = 'normal')
),
seen AS (
    SELECT DISTINCT f.kind, f.system, f.key, s.seq
    FROM series s
    JOIN findings f ON f.run_id = s.run_id
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
SELECT f.run_id, f.kind, f.system, f.key, f.master_key,
       first.run_id AS first_seen_run, first.started_at AS first_seen_at,
       st.age_runs,
       CAST(julianday(cur.started_at) - julianday(first.started_at) AS INTEGER) AS age_days
FROM target t
JOIN findings f ON f.run_id = t.run_id
JOIN streaks st ON st.kind = f.kind AND st.system = f.system AND st.key = f.key
JOIN series first ON first.seq = st.first_seq
JOIN runs cur ON cur.run_id = f.run_id
ORDER BY st.age_runs DESC, f.kind, f.system, f.key;
