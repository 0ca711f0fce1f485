-- The candidates of one system and kind together, for the per-system counts.
CREATE INDEX staging_candidates_by_system ON staging_candidates (system_id, kind);
