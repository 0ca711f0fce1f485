// Package sqlite is keysync's store: the pure-Go SQLite file that is the
// system of record. It applies the goose migrations on open, stages a run's
// normalized rows, computes the findings with SQL anti-joins, keeps the master
// key registry and the audit log, and reads back everything the reports show.
//
// Every exported method that writes owns its transaction: it begins, defers a
// rollback and commits once, so a failure or a kill leaves the file as it was.
package sqlite
