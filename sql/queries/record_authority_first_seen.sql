-- Remember when each key of the authority first appeared (grace_period's
-- clock for rows without last_seen_at): :first_seen is the run's time, or,
-- on the first run with a grace period on a database that already has runs,
-- the start of its first successful run, so turning grace_period on does not
-- make every existing key look new. A key seen before keeps its first
-- appearance.
INSERT INTO authority_first_seen (key, first_seen_at, run_id)
SELECT key, :first_seen, :run_id FROM staging_authority_rows WHERE true
ON CONFLICT (key) DO NOTHING;
