// Package sqlfiles embeds the SQL of keysync: the goose migrations under
// migrations/ (applied on open, never edited after they land) and the long
// queries under queries/, so the binary carries its schema with it.
package sqlfiles

import "embed"

// Migrations holds the goose migrations, numbered 00001_name.sql.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Queries holds the named queries the store runs, one statement per file.
//
//go:embed queries/*.sql
var Queries embed.FS

// StagingSchema creates the tables of a run's staging file
// (<database>-staging/staging.db), which every run makes anew.
//
//go:embed staging/schema.sql
var StagingSchema string
