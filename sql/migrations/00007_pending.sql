-- +goose Up

-- pending_findings records, for each run with a grace_period, the keys of the
-- authority a peer lacks that the grace period held back: not reported as
-- missing_from_system, only counted in run_systems.pending. keysync changes
-- reads it to list a finding of the baseline that is pending now as pending,
-- not resolved. Pruned with the run's findings (keysync prune, retention).
CREATE TABLE pending_findings (
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    system TEXT NOT NULL,
    key    TEXT NOT NULL, -- the normalized key of the authority
    PRIMARY KEY (run_id, system, key)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE pending_findings;
