-- missing_in_A: for each peer, each of its keys the authority lacks, with
-- the peer's first-seen row and the proposed master key, from the staging
-- files' findings. status is filled in once the registry outcome is known. A
-- suppressed (system, key) is left out.
INSERT INTO findings (run_id, kind, system, key, source_key, master_key,
                      entity_type, location_ref, last_seen_at)
SELECT :run_id, 'missing_in_A', f.system, f.key, f.source_key,
       CASE WHEN :namespaced THEN :authority || '-' || f.system || '-' || f.key
            ELSE f.key END,
       f.entity_type, f.location_ref, f.last_seen_at
FROM staging_findings f
WHERE f.kind = 'missing_in_A'
  AND NOT EXISTS (SELECT 1 FROM suppressions x
                  WHERE x.system = f.system AND x.key = f.key AND (x.until = '' OR x.until > :now))
ORDER BY f.system, f.key;
