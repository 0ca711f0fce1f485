-- duplicate: each key with two or more accepted rows in one system (the
-- authority included); count is its rows, detail its distinct raw spellings
-- in first-seen order, cause why its rows share the key (repeated, normalized
-- or mixed), from the staging files' findings. A suppressed (system, key) is
-- left out.
INSERT INTO findings (run_id, kind, system, key, count, detail, cause)
SELECT :run_id, 'duplicate', f.system, f.key, f.count, f.detail, f.cause
FROM staging_findings f
WHERE f.kind = 'duplicate'
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = f.system AND x.key = f.key AND (x.until = '' OR x.until > :now))
ORDER BY f.system, f.key;
