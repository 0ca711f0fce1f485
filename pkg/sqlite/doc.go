// Package sqlite is keysync's store: the pure-Go SQLite file that is the
// system of record. It applies the goose migrations on open, stages a run's
// normalized rows, computes the findings with SQL anti-joins, keeps the master
// key registry and the audit log, and reads back everything the reports show.
//
// A database file is created only by Create. Open, OpenWithoutMigrating and
// OpenReadOnly refuse a missing file, a file that is not a keysync database
// and a schema newer than the embedded migrations (schema.go), so a typo in a
// path or an older binary never writes to the wrong file; OpenAny only looks. maintain.go holds the upkeep of a file kept
// for years: backup, check and vacuum; retention.go the pruning a run does;
// explain.go and tune.go the read-only questions about one key and about the
// normalization rules, asked of the staging files a run leaves behind.
//
// Every exported method that writes owns its transaction: it begins, defers a
// rollback and commits once, so a failure or a kill leaves the file as it was.
package sqlite
