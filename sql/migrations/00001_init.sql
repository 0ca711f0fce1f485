-- +goose Up

-- runs is the pull log: one row per `keysync sync`, written twice (SPEC §8):
-- as `running` at the start, and with its final status and KPIs at the end.
CREATE TABLE runs (
    run_id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at                TEXT NOT NULL,
    finished_at               TEXT,
    status                    TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'blocked')),
    mode                      TEXT NOT NULL CHECK (mode IN ('normal', 'dry-run')),
    errors                    TEXT NOT NULL DEFAULT '',
    duration_ms               INTEGER,
    missing_in_A_count        INTEGER,
    missing_from_system_count INTEGER,
    duplicate_keys_count      INTEGER,
    auto_approval_rate        REAL,
    config_path               TEXT NOT NULL DEFAULT '',
    -- Phase timings (ms): reading and normalizing the sources (on its own
    -- goroutine, overlapping load), loading staging, computing keys and
    -- findings, registry/audit/summary writes, rendering the reports.
    extract_ms                INTEGER,
    load_ms                   INTEGER,
    compare_ms                INTEGER,
    persist_ms                INTEGER,
    report_ms                 INTEGER
);

-- run_systems holds the reconciliation summary: one row per run and system,
-- plus the fingerprint of the input that system's source read.
CREATE TABLE run_systems (
    run_id              INTEGER NOT NULL REFERENCES runs (run_id),
    system              TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('authority', 'peer')),
    rows_read           INTEGER NOT NULL,
    rows_rejected       INTEGER NOT NULL,
    distinct_keys       INTEGER NOT NULL,
    duplicate_keys      INTEGER NOT NULL,
    matched             INTEGER NOT NULL,
    missing_in_A        INTEGER NOT NULL,
    missing_from_system INTEGER NOT NULL,
    input_path          TEXT NOT NULL DEFAULT '',
    input_bytes         INTEGER,
    input_sha256        TEXT NOT NULL DEFAULT '',
    pending             INTEGER NOT NULL DEFAULT 0, -- within grace_period, not yet reported
    suppressed          INTEGER NOT NULL DEFAULT 0, -- findings silenced by a suppression
    PRIMARY KEY (run_id, system)
);

-- findings holds every row of diff_missing_in_A, diff_missing_from_system and
-- exceptions of every run; a master-key conflict is two rows (its
-- missing_in_A row and its master_key_conflict row).
CREATE TABLE findings (
    finding_id   INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs (run_id),
    kind         TEXT NOT NULL CHECK (kind IN ('missing_in_A', 'missing_from_system', 'duplicate', 'master_key_conflict')),
    system       TEXT NOT NULL,
    key          TEXT NOT NULL,            -- the normalized key
    source_key   TEXT NOT NULL DEFAULT '', -- the first-seen raw key
    master_key   TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '', -- registry status after the run (missing_in_A)
    entity_type  TEXT NOT NULL DEFAULT '',
    location_ref TEXT NOT NULL DEFAULT '',
    last_seen_at TEXT NOT NULL DEFAULT '',
    count        INTEGER NOT NULL DEFAULT 0,
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX findings_run_kind ON findings (run_id, kind, system, key);

-- rejected_rows keeps every rejected input row of every run, so a past run's
-- rejected_rows.csv can be rewritten from the database.
CREATE TABLE rejected_rows (
    run_id  INTEGER NOT NULL REFERENCES runs (run_id),
    system  TEXT NOT NULL,
    record  INTEGER NOT NULL,
    raw_key TEXT NOT NULL,
    reason  TEXT NOT NULL,
    PRIMARY KEY (run_id, system, record)
) WITHOUT ROWID;

-- master_key_registry is the system of record for master keys. A row is never
-- deleted or duplicated; only status and updated_at change.
CREATE TABLE master_key_registry (
    master_key    TEXT PRIMARY KEY,
    source_system TEXT NOT NULL,
    source_key    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('Proposed', 'Active', 'Deprecated')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    run_id        INTEGER REFERENCES runs (run_id) -- the run that proposed it
) WITHOUT ROWID;

-- audit_log records every run and every registry change, append-only.
CREATE TABLE audit_log (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER REFERENCES runs (run_id), -- NULL for operator commands
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL CHECK (json_valid(payload)),
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_run ON audit_log (run_id);

-- suppressions are known exceptions an operator recorded with `keysync
-- suppress add`: a finding of (system, key) is not reported while the
-- suppression holds (until is empty or later than the run), only counted.
CREATE TABLE suppressions (
    system     TEXT NOT NULL,
    key        TEXT NOT NULL, -- the normalized key
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    until      TEXT NOT NULL DEFAULT '', -- RFC 3339 UTC; '' = no end
    PRIMARY KEY (system, key)
) WITHOUT ROWID;

-- authority_first_seen remembers when each key first appeared in the
-- authority, for grace_period when a row has no last_seen_at. Kept only while
-- a grace period is configured.
CREATE TABLE authority_first_seen (
    key           TEXT PRIMARY KEY,
    first_seen_at TEXT NOT NULL,
    run_id        INTEGER NOT NULL
) WITHOUT ROWID;

-- Staging holds the current run's normalized rows only; each run empties it
-- before loading. staging_systems gives each system a small integer id (1 to
-- 62, a bit of staging_presence.mask) and holds its counts.
CREATE TABLE staging_systems (
    system_id     INTEGER PRIMARY KEY,
    system        TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    rows_read     INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    input_path    TEXT NOT NULL DEFAULT '',
    input_bytes   INTEGER,
    input_sha256  TEXT NOT NULL DEFAULT '',
    distinct_keys  INTEGER NOT NULL DEFAULT 0,
    duplicate_keys INTEGER NOT NULL DEFAULT 0,
    matched        INTEGER NOT NULL DEFAULT 0,
    pending        INTEGER NOT NULL DEFAULT 0,
    suppressed     INTEGER NOT NULL DEFAULT 0
);

-- staging_rejects holds the current run's rejected rows until the final commit
-- copies them to rejected_rows.
CREATE TABLE staging_rejects (
    system_id INTEGER NOT NULL,
    record    INTEGER NOT NULL,
    raw_key   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (system_id, record)
) WITHOUT ROWID;

-- staging_rows holds every accepted row of the run, appended in input order
-- (system after system), so row_id order is file order within a system and
-- loading is a pure append at the end of the table.
CREATE TABLE staging_rows (
    row_id       INTEGER PRIMARY KEY,
    system_id    INTEGER NOT NULL,
    record       INTEGER NOT NULL,
    key          TEXT NOT NULL,
    raw_key      TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    location_ref TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

-- staging_keys is K(s) of SPEC §5: one row per normalized key and system,
-- with the row_id of its first-seen row and its number of rows. Clustered by
-- key, so the keys of every system sit together.
CREATE TABLE staging_keys (
    key          TEXT NOT NULL,
    system_id    INTEGER NOT NULL,
    first_row    INTEGER NOT NULL, -- staging_rows.row_id of the first-seen row
    min_row      INTEGER NOT NULL, -- the lowest and highest row_id of its rows:
    max_row      INTEGER NOT NULL, -- a pair of duplicates is these two rows
    row_count    INTEGER NOT NULL,
    PRIMARY KEY (key, system_id)
) WITHOUT ROWID;

-- staging_presence says, per normalized key, which systems have it: bit
-- system_id of mask is set when that system has the key, of dup_mask when it
-- has the key on two or more rows, of multi_mask on three or more. One pass over it answers every
-- anti-join of the run.
CREATE TABLE staging_presence (
    key        TEXT PRIMARY KEY,
    mask       INTEGER NOT NULL,
    dup_mask   INTEGER NOT NULL,
    multi_mask INTEGER NOT NULL -- systems with the key on three or more rows
) WITHOUT ROWID;

-- staging_dup_rows holds the rows of keys with two or more rows in a system,
-- for the detail of their duplicate exception.
CREATE TABLE staging_dup_rows (
    system_id INTEGER NOT NULL,
    key       TEXT NOT NULL,
    record    INTEGER NOT NULL,
    raw_key   TEXT NOT NULL,
    PRIMARY KEY (system_id, key, record)
) WITHOUT ROWID;

-- staging_master_keys holds the current run's distinct proposed master keys:
-- the proposing system (alphabetically first), whether the key conflicts with
-- the authority, its registry status before and after the run.
CREATE TABLE staging_master_keys (
    master_key   TEXT PRIMARY KEY,
    system       TEXT NOT NULL,
    source_key   TEXT NOT NULL,
    conflict     INTEGER NOT NULL,
    prior_status TEXT,
    new_status   TEXT
) WITHOUT ROWID;

-- +goose Down
DROP TABLE authority_first_seen;
DROP TABLE suppressions;
DROP TABLE staging_master_keys;
DROP TABLE staging_rejects;
DROP TABLE staging_dup_rows;
DROP TABLE staging_presence;
DROP TABLE staging_keys;
DROP TABLE staging_rows;
DROP TABLE staging_systems;
DROP INDEX audit_log_run;
DROP TABLE audit_log;
DROP TABLE master_key_registry;
DROP TABLE rejected_rows;
DROP INDEX findings_run_kind;
DROP TABLE findings;
DROP TABLE run_systems;
DROP TABLE runs;
