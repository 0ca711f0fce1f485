// Package source extracts input rows from the systems' exports. It owns the
// row-level rules of SPEC §3 (rejection reasons and their order, timestamps)
// that apply to every source type, and the extractors of each type: CSV
// files, JSON files (an array, a document holding one, or NDJSON), HTTP JSON
// APIs (paginated, with retries and secrets kept out of every message),
// SQLite database files, and live PostgreSQL and MySQL/MariaDB databases
// (one query in a read-only transaction, secrets kept out as for HTTP). New
// picks the extractor for a Spec, a plain description of a configured
// source, so this package needs nothing of pkg/config.
//
// CSV and JSON files go through one input layer (Input, input.go) before
// their format sees them: a glob's matches, the fingerprint of the bytes as
// stored, the decompressor the magic bytes call for (gzip, zstd, bzip2, a
// zip member) and the decoder of the encoding (a byte-order mark wins).
// Filter is the row filter of a source: an SQLite expression over an
// accepted row's fields, evaluated a batch at a time.
//
// Every extractor streams: a record goes through the Rules into the Sink as
// soon as it is read, and nothing holds a whole input in memory.
package source

import "github.com/keysync/keysync/pkg/keysync"

// Sink receives what a source extracts, in input order. Returning an error
// stops the extraction and fails the source with that error.
type Sink interface {
	Accept(row keysync.Row) error
	Reject(rej keysync.Rejection) error
}

// Fingerprint identifies the bytes a source read, so a run can be reproduced.
type Fingerprint struct {
	Path   string // as configured, resolved against the config's directory
	Bytes  int64
	SHA256 string // lowercase hex of the whole input
}

// Stats sums up one extraction.
type Stats struct {
	RowsRead int64 // data records (the header and blank lines are not records)
	Fingerprint
	Files []InputFile // the files read, in reading order (csv, json); nil for other types

	// Filtered counts the rows the row rules accepted but the source's
	// filter left out of the comparison; the reader of the rows (not the
	// extractor) applies the filter and sets it.
	Filtered int64
}

// deliver hands a checked record to sink: the row, or its rejection.
func deliver(sink Sink, row keysync.Row, rej *keysync.Rejection) error {
	if rej != nil {
		return sink.Reject(*rej)
	}
	return sink.Accept(row)
}
