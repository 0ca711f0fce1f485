-- +goose Up

-- Views for the questions operators ask most, so the sqlite3 shell answers
-- them in one line. "The latest run" is the newest run that succeeded, in
-- either mode: the run whose reports the output directory holds.

-- v_latest_run_summary: reconciliation_summary.csv of the latest run, with
-- the fingerprint of each input it read.
CREATE VIEW v_latest_run_summary AS
SELECT r.run_id, r.started_at, r.mode,
       s.system, s.role, s.rows_read, s.rows_rejected, s.distinct_keys, s.duplicate_keys,
       s.matched, s.missing_in_A, s.missing_from_system, s.pending, s.suppressed,
       s.input_path, s.input_bytes, s.input_sha256
FROM runs r
JOIN run_systems s ON s.run_id = r.run_id
WHERE r.run_id = (SELECT MAX(run_id) FROM runs WHERE status = 'succeeded')
ORDER BY s.role <> 'authority', s.system;

-- v_open_proposals: master keys waiting for review, oldest first, with their
-- age in whole days (by the clock of whoever queries).
CREATE VIEW v_open_proposals AS
SELECT master_key, source_system, source_key, created_at, run_id,
       CAST(julianday('now') - julianday(created_at) AS INTEGER) AS age_days
FROM master_key_registry
WHERE status = 'Proposed'
ORDER BY created_at, master_key;

-- v_key_presence: for each normalized key staged by the latest run that read
-- its sources (staging holds that run only), which systems have it and which
-- lack it (authority first, then peers by name, comma-separated), read off
-- staging_presence's bit mask (bit system_id set = the system has the key).
CREATE VIEW v_key_presence AS
SELECT p.key,
       (SELECT (p.mask >> a.system_id) & 1 FROM staging_systems a WHERE a.role = 'authority') AS in_authority,
       (SELECT COUNT(*) FROM staging_systems s WHERE (p.mask >> s.system_id) & 1 = 1) AS system_count,
       (SELECT group_concat(system, ',') FROM (
            SELECT s2.system FROM staging_systems s2
            WHERE (p.mask >> s2.system_id) & 1 = 1
            ORDER BY s2.role <> 'authority', s2.system)) AS systems,
       (SELECT group_concat(system, ',') FROM (
            SELECT s3.system FROM staging_systems s3
            WHERE (p.mask >> s3.system_id) & 1 = 0
            ORDER BY s3.role <> 'authority', s3.system)) AS missing_from,
       (SELECT SUM(k.row_count) FROM staging_keys k WHERE k.key = p.key) AS row_count
FROM staging_presence p;

-- v_finding_age: the findings of the latest run, each with the first run of
-- its current unbroken streak and its age in runs (1 = new) and whole days.
-- A finding is (kind, system, key). The streak is counted over the succeeded
-- normal runs before the latest run, then the latest run itself: failed and
-- blocked runs found nothing, so they neither extend nor break a streak, and
-- a dry run is never part of another run's streak. The same rule as
-- `keysync changes` (sql/queries/history_finding_ages.sql).
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

-- +goose Down
DROP VIEW v_finding_age;
DROP VIEW v_key_presence;
DROP VIEW v_open_proposals;
DROP VIEW v_latest_run_summary;
