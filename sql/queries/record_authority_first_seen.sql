-- Remember when each key of the authority first appeared (grace_period's
-- clock for rows without last_seen_at). Keys arrive in key order.
INSERT INTO authority_first_seen (key, first_seen_at, run_id)
SELECT p.key, :now, :run_id
FROM staging_presence p
WHERE (p.mask >> :authority_id) & 1 = 1
ON CONFLICT (key) DO NOTHING;
