-- +goose Up

-- cause says why a duplicate's rows share one normalized key (issue
-- [explain]): repeated (every row has the same raw spelling: the source
-- repeats the key), normalized (two or more spellings, none on more than one
-- row: normalization made them one) or mixed (otherwise). Empty for the
-- other kinds, and for duplicates found before this column existed.
ALTER TABLE findings ADD COLUMN cause TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE findings DROP COLUMN cause;
