-- A staging file of one run: <database>-staging/part-N.db, deleted and
-- created anew by every run (a crash may leave it half written, so it is
-- never reused), never part of the database. The run's keys are split over
-- the files by their key_id (all rows of a key land in one file), so each
-- file is loaded and compared on a core of its own. A file holds its share
-- of the run's normalized rows and what the comparison derives from them;
-- the run's final transaction reads the files through ATTACH and keeps only
-- the results.

-- staging_systems gives each system a small integer id (1 to 62, a bit of
-- staging_keys.mask) and holds what its source read (the same in every
-- file), the counts of its keys in this file and the row_id range of its
-- rows here. The authority is staged first and alone, so its range holds its
-- rows only; the peers are read side by side, so their rows interleave and
-- a peer's range is only the span from its first row to its last.
CREATE TABLE staging_systems (
    system_id      INTEGER PRIMARY KEY,
    system         TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    rows_read      INTEGER NOT NULL DEFAULT 0,
    rows_rejected  INTEGER NOT NULL DEFAULT 0,
    input_path     TEXT NOT NULL DEFAULT '',
    input_bytes    INTEGER,
    input_sha256   TEXT NOT NULL DEFAULT '',
    filtered       INTEGER NOT NULL DEFAULT 0, -- accepted rows its filter left out
    distinct_keys  INTEGER NOT NULL DEFAULT 0,
    duplicate_keys INTEGER NOT NULL DEFAULT 0,
    matched        INTEGER NOT NULL DEFAULT 0,
    pending        INTEGER NOT NULL DEFAULT 0,
    suppressed     INTEGER NOT NULL DEFAULT 0,
    first_row      INTEGER, -- the lowest and highest staging_rows.row_id
    last_row       INTEGER  -- of the system's rows; NULL when it has none
);

-- staging_rejects holds the run's rejected rows (in part-0.db only) until the
-- final commit copies them to rejected_rows.
CREATE TABLE staging_rejects (
    system_id INTEGER NOT NULL,
    record    INTEGER NOT NULL,
    raw_key   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (system_id, record)
) WITHOUT ROWID;

-- staging_inputs holds the files each source read (in part-0.db only) until
-- the final commit copies them to run_inputs.
CREATE TABLE staging_inputs (
    system_id    INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    path         TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    first_record INTEGER NOT NULL,
    records      INTEGER NOT NULL,
    PRIMARY KEY (system_id, seq)
) WITHOUT ROWID;

-- staging_rows holds every accepted row, appended in input order (the
-- authority's first, then the peers', interleaved), so row_id order is file
-- order within a system. key_id and
-- key_check are two seeded hashes of key (pkg/sqlite/keyid.go); after
-- resolve_collisions.sql, rows share a key_id exactly when they share key.
-- detail packs record, raw_key, entity_type, location_ref and last_seen_at:
-- keysync_detail(detail, 'raw_key') reads one (pkg/sqlite/detail.go).
CREATE TABLE staging_rows (
    row_id    INTEGER PRIMARY KEY,
    key_id    INTEGER NOT NULL,
    system_id INTEGER NOT NULL,
    key_check INTEGER NOT NULL,
    key       TEXT NOT NULL,
    detail    TEXT NOT NULL
);

-- staging_keys is one row per distinct normalized key of the run: bit
-- system_id of mask is set when that system has the key, of dup_mask when it
-- has it on two or more rows. One pass over it answers every anti-join.
CREATE TABLE staging_keys (
    key_id   INTEGER PRIMARY KEY,
    mask     INTEGER NOT NULL,
    dup_mask INTEGER NOT NULL,
    collided INTEGER NOT NULL -- its rows disagree on key_check: two keys
);

-- staging_candidates are the file's findings before they are read out: kind,
-- system, key and the row_id of the first-seen row each reports, in
-- first_row order.
CREATE TABLE staging_candidates (
    kind      TEXT NOT NULL,
    system_id INTEGER NOT NULL,
    key_id    INTEGER NOT NULL,
    first_row INTEGER NOT NULL
);

-- staging_findings are the file's findings before suppressions and the
-- grace period have their say: one row per (kind, system, key), with the
-- fields of the first-seen row it reports (the peer's for missing_in_A and
-- duplicate, the authority's for missing_from_system) and, for a duplicate,
-- its number of rows, its distinct raw spellings in first-seen order and its
-- cause (repeated, normalized or mixed: see build_staging_findings.sql).
-- key_id leads a reader (keysync explain) to the key's rows by the index.
CREATE TABLE staging_findings (
    kind         TEXT NOT NULL,
    system       TEXT NOT NULL,
    key          TEXT NOT NULL,
    source_key   TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    location_ref TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    count        INTEGER NOT NULL,
    detail       TEXT NOT NULL,
    cause        TEXT NOT NULL,
    key_id       INTEGER NOT NULL
);

-- staging_run names the run that created the file (one row), so a reader
-- can tell whether the file still holds the rows of the run it asks about:
-- the files hold only the latest run that staged, failed or blocked ones
-- included. complete turns 1 in the transaction that finishes deriving the
-- file's keys and findings: a run killed or failed while loading leaves 0,
-- and readers then leave the file alone.
CREATE TABLE staging_run (
    run_id   INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0
);

-- v_key_presence: for each normalized key of this file, which systems
-- have it and which lack it (authority first, then peers by name,
-- comma-separated), and its number of rows over all systems.
CREATE VIEW v_key_presence AS
SELECT (SELECT r.key FROM staging_rows r WHERE r.key_id = k.key_id LIMIT 1) AS key,
       (SELECT (k.mask >> a.system_id) & 1 FROM staging_systems a WHERE a.role = 'authority') AS in_authority,
       (SELECT COUNT(*) FROM staging_systems s WHERE (k.mask >> s.system_id) & 1 = 1) AS system_count,
       (SELECT group_concat(system, ',') FROM (
            SELECT s2.system FROM staging_systems s2
            WHERE (k.mask >> s2.system_id) & 1 = 1
            ORDER BY s2.role <> 'authority', s2.system)) AS systems,
       (SELECT group_concat(system, ',') FROM (
            SELECT s3.system FROM staging_systems s3
            WHERE (k.mask >> s3.system_id) & 1 = 0
            ORDER BY s3.role <> 'authority', s3.system)) AS missing_from,
       (SELECT COUNT(*) FROM staging_rows r WHERE r.key_id = k.key_id) AS row_count
FROM staging_keys k;
