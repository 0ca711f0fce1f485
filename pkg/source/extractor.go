package source

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Extractor is one source of any type: it streams its records through
// rules into sink, in input order, and returns what it read.
// Every failure of the source as a whole is a *Error.
type Extractor interface {
	Extract(ctx context.Context, rules Rules, sink Sink) (Stats, error)
}

// Source types (the `type:` of a configured source).
const (
	TypeCSV      = "csv"
	TypeJSON     = "json"
	TypeHTTP     = "http"
	TypeSQLite   = "sqlite"
	TypePostgres = "postgres"
	TypeMySQL    = "mysql" // MySQL and MariaDB
)

// Pagination styles of an HTTP source.
const (
	PaginateNone   = ""       // one request
	PaginateNext   = "next"   // a next-page URL in the body, at the path Next
	PaginateLink   = "link"   // the RFC 8288 Link header's rel="next"
	PaginatePage   = "page"   // a page-number query parameter, until an empty page
	PaginateOffset = "offset" // an item-offset query parameter, until an empty page
)

// DefaultKeySeparator joins the parts of a composite key when the
// normalization's collapse_delims is "" (collapsing off).
const DefaultKeySeparator = "-"

// Spec describes one configured source in plain values, so that this
// package needs nothing of the configuration's shape; New turns it into the
// Extractor of its Type. Options a type does not use are ignored.
type Spec struct {
	System string // the configured source name
	Type   string // TypeCSV ("" too), TypeJSON, TypeHTTP, TypeSQLite, TypePostgres or TypeMySQL

	Path      string            // csv, json, sqlite: the file, absolute
	Delimiter rune              // csv: the field separator; 0 means ','
	Columns   map[string]string // csv, sqlite, postgres, mysql: contract field -> column name
	Fields    map[string]string // json, http: contract field -> dotted path in an item
	Items     string            // json, http: dotted path to the array of items; "" is the document itself
	Query     string            // sqlite, postgres, mysql: the SELECT to run
	DSN       string            // postgres, mysql: the connection string, ${NAME} unexpanded
	NoHeader  bool              // csv: no header row; Columns and Key give 1-based positions

	// Input (csv, json): the encoding, the zip member and the pick of a
	// glob Path; see Input.
	Input

	// Key lists the columns (csv, sqlite) or dotted paths (json, http) whose
	// values, joined with KeySeparator, make a composite source_key. Empty
	// means source_key is one column or path like the other fields.
	Key          []string
	KeySeparator string // "" means DefaultKeySeparator

	// HTTP options; see HTTP for their meaning and defaults. Timeout,
	// Retries and Backoff apply to postgres and mysql too, see DB.
	URL        string
	Headers    map[string]string
	Pagination string
	Next       string
	PageParam  string
	PageStart  int
	Timeout    time.Duration
	MaxPages   int
	Retries    int
	Backoff    time.Duration
}

// New returns the extractor of spec.Type. It checks only what the type
// cannot work without; the extractor reports the rest when it runs.
func New(spec Spec) (Extractor, error) {
	switch spec.Type {
	case TypeCSV, "":
		return CSV{System: spec.System, Path: spec.Path, Delimiter: spec.Delimiter, Columns: spec.Columns,
			Key: spec.Key, KeySeparator: spec.KeySeparator, NoHeader: spec.NoHeader, Input: spec.Input}, nil
	case TypeJSON:
		return JSON{System: spec.System, Path: spec.Path, Items: spec.Items, Fields: spec.Fields,
			Key: spec.Key, KeySeparator: spec.KeySeparator, Input: spec.Input}, nil
	case TypeHTTP:
		return &HTTP{System: spec.System, URL: spec.URL, Headers: spec.Headers, Items: spec.Items,
			Fields: spec.Fields, Key: spec.Key, KeySeparator: spec.KeySeparator,
			Pagination: spec.Pagination, Next: spec.Next, PageParam: spec.PageParam, PageStart: spec.PageStart,
			Timeout: spec.Timeout, MaxPages: spec.MaxPages, Retries: spec.Retries, Backoff: spec.Backoff}, nil
	case TypeSQLite:
		return SQLite{System: spec.System, Path: spec.Path, Query: spec.Query, Columns: spec.Columns,
			Key: spec.Key, KeySeparator: spec.KeySeparator}, nil
	case TypePostgres, TypeMySQL:
		db := DB{System: spec.System, DSN: spec.DSN, Query: spec.Query, Columns: spec.Columns,
			Key: spec.Key, KeySeparator: spec.KeySeparator,
			Timeout: spec.Timeout, Retries: spec.Retries, Backoff: spec.Backoff}
		if spec.Type == TypePostgres {
			return Postgres{db}, nil
		}
		return MySQL{db}, nil
	}
	return nil, fmt.Errorf("source %q: unknown type %q (want %s, %s, %s, %s, %s or %s)",
		spec.System, spec.Type, TypeCSV, TypeJSON, TypeHTTP, TypeSQLite, TypePostgres, TypeMySQL)
}

// JoinKey joins the parts of a composite key with sep (DefaultKeySeparator
// when sep is ""). The result is the raw key the row rules see: it is
// normalized like any other, so with the default normalization the parts
// `eu` and ` 42` give EU-42.
func JoinKey(parts []string, sep string) string {
	if sep == "" {
		sep = DefaultKeySeparator
	}
	return strings.Join(parts, sep)
}

// checkMapping rejects a field mapping (columns: or fields:) that names a
// field the contract does not have, maps a field to nothing, or maps
// source_key while a composite Key is also given.
func checkMapping(option string, m map[string]string, key []string) error {
	for _, field := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(ContractFields, field) {
			return fmt.Errorf("%s: unknown field %q (want one of %s)", option, field, strings.Join(ContractFields, ", "))
		}
		if strings.TrimSpace(m[field]) == "" {
			return fmt.Errorf("%s: empty name for %s", option, field)
		}
	}
	if len(key) > 0 {
		if _, ok := m[FieldSourceKey]; ok {
			return fmt.Errorf("%s: source_key is both a single name and a composite key", option)
		}
		for _, k := range key {
			if strings.TrimSpace(k) == "" {
				return fmt.Errorf("%s: empty name in the composite source_key", option)
			}
		}
	}
	return nil
}
