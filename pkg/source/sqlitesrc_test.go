package source_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// MustCreateDB creates a SQLite file under tb.TempDir, runs stmts in it and
// closes it, returning its path. The name holds a space and a '?' so the
// source's URI escaping is exercised.
func MustCreateDB(tb testing.TB, stmts ...string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "export d?#.db")
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("?", "%3f", "#", "%23", " ", "%20").Replace(path))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("the database is not where expected: %v", err)
	}
	return path
}

const itemsTable = `CREATE TABLE items (
	ItemID TEXT, Region TEXT, Num INTEGER, Kind TEXT, Bin TEXT, Seen DATETIME, system TEXT, Ratio REAL)`

func TestSQLiteExtract(t *testing.T) {
	path := MustCreateDB(t, itemsTable,
		`INSERT INTO items VALUES
		 ('k1', 'eu', 42, 'Invoice', 'WH-1', '2024-01-02 03:04:05', 'B', 0.5),
		 ('  ', 'us', 7, NULL, NULL, NULL, NULL, NULL),
		 ('k3', 'eu', 8, 'Order', NULL, '2024-02-30', NULL, NULL),
		 ('k4', NULL, 9, NULL, NULL, NULL, 'C', NULL),
		 (NULL, 'eu', NULL, NULL, NULL, '2024-03-01', NULL, NULL),
		 (CAST(X'61FF62' AS TEXT), 'eu', 1, NULL, NULL, NULL, NULL, NULL)`)
	tests := []struct {
		name string
		src  source.SQLite
		rows []keysync.Row
		rejs []keysync.Rejection
	}{
		{
			name: "columns by name, case-insensitive",
			src: source.SQLite{Query: `SELECT ItemID AS Source_Key, Kind AS ENTITY_TYPE, Bin AS location_ref,
			                             Seen AS last_seen_at, system AS source_system FROM items ORDER BY rowid`},
			rows: []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "Invoice", LocationRef: "WH-1", LastSeenAt: "2024-01-02T03:04:05Z"}},
			rejs: []keysync.Rejection{
				rej(2, "  ", keysync.RejectEmptyKey),
				rej(3, "k3", keysync.RejectBadTimestamp),
				rej(4, "k4", keysync.RejectSystemMismatch),
				rej(5, "", keysync.RejectEmptyKey),
				rej(6, "a\uFFFDb", keysync.RejectInvalidUTF8),
			},
		},
		{
			name: "columns mapping; numbers as text; NULL as empty",
			src: source.SQLite{Query: `SELECT Num, Ratio, Bin FROM items WHERE Num IN (42, 7) ORDER BY Num DESC`,
				Columns: map[string]string{"source_key": "num", "entity_type": "RATIO", "location_ref": "Bin"}},
			rows: []keysync.Row{
				{Record: 1, Key: "42", RawKey: "42", EntityType: "0.5", LocationRef: "WH-1"},
				{Record: 2, Key: "7", RawKey: "7"},
			},
		},
		{
			name: "composite key",
			src:  source.SQLite{Query: `SELECT Region, Num FROM items WHERE Num IS NOT NULL ORDER BY rowid`, Key: []string{"region", "NUM"}},
			rows: []keysync.Row{
				{Record: 1, Key: "EU-42", RawKey: "eu-42"},
				{Record: 2, Key: "US-7", RawKey: "us-7"},
				{Record: 3, Key: "EU-8", RawKey: "eu-8"},
				{Record: 4, Key: "-9", RawKey: "-9"},
				{Record: 5, Key: "EU-1", RawKey: "eu-1"},
			},
		},
		{
			name: "no rows",
			src:  source.SQLite{Query: `SELECT ItemID AS source_key FROM items WHERE 0`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			src.System, src.Path = "B", path
			var rec recorder
			st, err := src.Extract(context.Background(), testRules, &rec)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rec.rows, tt.rows; !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				t.Errorf("rows:\n got %+v\nwant %+v", got, want)
			}
			if got, want := rec.rejs, tt.rejs; !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				t.Errorf("rejections:\n got %+v\nwant %+v", got, want)
			}
			if got, want := st.RowsRead, int64(len(tt.rows)+len(tt.rejs)); got != want {
				t.Errorf("RowsRead = %d, want %d", got, want)
			}
		})
	}
}

func TestSQLiteExtractReadOnlyAndFingerprint(t *testing.T) {
	path := MustCreateDB(t, itemsTable, `INSERT INTO items (ItemID) VALUES ('k1'), ('k2')`)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := source.SQLite{System: "B", Path: path, Query: `SELECT ItemID AS source_key FROM items`}.
		Extract(context.Background(), testRules, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(before)
	if got, want := st.Fingerprint, (source.Fingerprint{Path: path, Bytes: int64(len(before)), SHA256: hex.EncodeToString(sum[:])}); got != want {
		t.Errorf("Fingerprint = %+v, want %+v", got, want)
	}

	// A query that writes fails, and the file is unchanged.
	_, err = source.SQLite{System: "B", Path: path, Query: `DELETE FROM items RETURNING ItemID AS source_key`}.
		Extract(context.Background(), testRules, &recorder{})
	if err == nil {
		t.Fatal("a writing query succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Error("the database file changed")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the source left files beside the database: %v", entries)
	}
}

func TestSQLiteExtractFailures(t *testing.T) {
	path := MustCreateDB(t, itemsTable)
	notDB := writeNamed(t, "not.db", "this is not a database, just text long enough to have a header..........")
	tests := []struct {
		name string
		src  source.SQLite
		want []string
		is   error
	}{
		{"missing file", source.SQLite{Path: filepath.Join(t.TempDir(), "none.db"), Query: "SELECT 1 AS source_key"}, []string{"no such file"}, fs.ErrNotExist},
		{"a directory", source.SQLite{Path: t.TempDir(), Query: "SELECT 1 AS source_key"}, []string{"is a directory"}, nil},
		{"not a database", source.SQLite{Path: notDB, Query: "SELECT 1 AS source_key"}, []string{"query: "}, nil},
		{"no query", source.SQLite{Path: path, Query: " "}, []string{"no query"}, nil},
		{"bad query", source.SQLite{Path: path, Query: "SELECT nope FROM items"}, []string{"query: ", "nope"}, nil},
		{"no key column lists the columns", source.SQLite{Path: path, Query: "SELECT ItemID, Kind FROM items"},
			[]string{`no source_key column; columns found: "ItemID", "Kind"`}, nil},
		{"mapped column missing", source.SQLite{Path: path, Query: "SELECT ItemID FROM items", Columns: map[string]string{"source_key": "ItemID", "entity_type": "Type"}},
			[]string{`no column "Type" for entity_type (from columns:); columns found: "ItemID"`}, nil},
		{"composite part missing", source.SQLite{Path: path, Query: "SELECT ItemID, Region FROM items", Key: []string{"Region", "Num"}},
			[]string{`no column "Num" for part 2 of the composite source_key`}, nil},
		{"ambiguous columns", source.SQLite{Path: path, Query: "SELECT ItemID AS source_key, Kind AS SOURCE_KEY FROM items"},
			[]string{"query result: columns 1 and 2 both match source_key"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			src.System = "B"
			_, err := src.Extract(context.Background(), testRules, &recorder{})
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want a *source.Error", err, err)
			}
			if se.System != "B" || se.Path != src.Path {
				t.Errorf("Error{System: %q, Path: %q}, want B and %q", se.System, se.Path, src.Path)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}
