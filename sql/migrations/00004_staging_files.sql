-- +goose Up

-- Staging moves out of the database into disposable files beside it
-- (<database>-staging/, recreated by every run): the database keeps only what
-- is worth keeping (runs, findings, registry, audit, suppressions), so the
-- file operators back up stays small and its WAL is not churned by millions
-- of staged rows every night. v_key_presence now lives in the staging file,
-- next to the tables it reads; `keysync sql` attaches it.
DROP VIEW v_key_presence;
DROP TABLE staging_master_keys;
DROP TABLE staging_rejects;
DROP TABLE staging_dup_rows;
DROP TABLE staging_presence;
DROP TABLE staging_keys;
DROP TABLE staging_rows;
DROP TABLE staging_systems;

-- +goose Down
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
CREATE TABLE staging_rejects (
    system_id INTEGER NOT NULL,
    record    INTEGER NOT NULL,
    raw_key   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (system_id, record)
) WITHOUT ROWID;
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
CREATE TABLE staging_keys (
    key          TEXT NOT NULL,
    system_id    INTEGER NOT NULL,
    first_row    INTEGER NOT NULL,
    min_row      INTEGER NOT NULL,
    max_row      INTEGER NOT NULL,
    row_count    INTEGER NOT NULL,
    PRIMARY KEY (key, system_id)
) WITHOUT ROWID;
CREATE TABLE staging_presence (
    key        TEXT PRIMARY KEY,
    mask       INTEGER NOT NULL,
    dup_mask   INTEGER NOT NULL,
    multi_mask INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE staging_dup_rows (
    system_id INTEGER NOT NULL,
    key       TEXT NOT NULL,
    record    INTEGER NOT NULL,
    raw_key   TEXT NOT NULL,
    PRIMARY KEY (system_id, key, record)
) WITHOUT ROWID;
CREATE TABLE staging_master_keys (
    master_key   TEXT PRIMARY KEY,
    system       TEXT NOT NULL,
    source_key   TEXT NOT NULL,
    conflict     INTEGER NOT NULL,
    prior_status TEXT,
    new_status   TEXT
) WITHOUT ROWID;
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
