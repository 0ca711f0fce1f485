-- +goose Up

-- run_inputs lists the files each csv or json source read in a run, in
-- reading order: one for a plain path or a glob's picked match, every match
-- of a glob with pick: all. The records of file seq are first_record to
-- first_record + records - 1 (record numbers run on from file to file), so a
-- rejected row's record tells its file. bytes and sha256 are of the file as
-- stored (compressed, if it is). run_systems.input_* hold the source's
-- fingerprint as a whole.
CREATE TABLE run_inputs (
    run_id       INTEGER NOT NULL REFERENCES runs (run_id),
    system       TEXT NOT NULL,
    seq          INTEGER NOT NULL, -- reading order, from 1
    path         TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    first_record INTEGER NOT NULL,
    records      INTEGER NOT NULL,
    PRIMARY KEY (run_id, system, seq)
) WITHOUT ROWID;

-- filtered counts a system's rows that the row rules accepted but its
-- source's filter: left out of the comparison (the summary's trailing column).
-- (The staging files carry their own staging_inputs and filtered column.)
ALTER TABLE run_systems ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE run_systems DROP COLUMN filtered;
DROP TABLE run_inputs;
