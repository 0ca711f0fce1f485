package source_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// recorder is a Sink that keeps what it receives.
type recorder struct {
	rows []keysync.Row
	rejs []keysync.Rejection
}

func (r *recorder) Accept(row keysync.Row) error       { r.rows = append(r.rows, row); return nil }
func (r *recorder) Reject(rej keysync.Rejection) error { r.rejs = append(r.rejs, rej); return nil }

// writeFile writes content to a fresh file under t.TempDir and returns its path.
func writeFile(tb testing.TB, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "B.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// extract runs c over content and fails the test on a source error.
func extract(t *testing.T, c source.CSV, content string) (source.Stats, *recorder) {
	t.Helper()
	c.Path = writeFile(t, content)
	if c.System == "" {
		c.System = "B"
	}
	var rec recorder
	st, err := c.Extract(context.Background(), testRules, &rec)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	return st, &rec
}

// row builds an accepted row with the test normalization of rawKey.
func row(record int64, rawKey string) keysync.Row {
	return keysync.Row{Record: record, Key: testNormalize(rawKey), RawKey: rawKey}
}

func TestCSVExtract(t *testing.T) {
	tests := []struct {
		name    string
		csv     source.CSV
		content string
		rows    []keysync.Row
		rejs    []keysync.Rejection
	}{
		{
			name:    "key only",
			content: "source_key\na1\nb2\n",
			rows:    []keysync.Row{row(1, "a1"), row(2, "b2")},
		},
		{
			name:    "no final newline",
			content: "source_key\na1\nb2",
			rows:    []keysync.Row{row(1, "a1"), row(2, "b2")},
		},
		{
			name:    "all fields",
			content: "source_system,source_key,entity_type,location_ref,last_seen_at\nb,k1,Invoice,WH-1,2024-01-02 03:04:05\n",
			rows: []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "Invoice", LocationRef: "WH-1",
				LastSeenAt: "2024-01-02T03:04:05Z"}},
		},
		{
			name:    "optional fields kept untrimmed",
			content: "source_key,entity_type,location_ref\n k1 , Invoice ,  WH 1\n",
			rows:    []keysync.Row{{Record: 1, Key: "K1", RawKey: " k1 ", EntityType: " Invoice ", LocationRef: "  WH 1"}},
		},
		{
			name:    "BOM",
			content: "\uFEFFsource_key,entity_type\nk1,t\n",
			rows:    []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "t"}},
		},
		{
			name:    "CRLF",
			content: "source_key,entity_type\r\nk1,t1\r\nk2,t2\r\n",
			rows: []keysync.Row{
				{Record: 1, Key: "K1", RawKey: "k1", EntityType: "t1"},
				{Record: 2, Key: "K2", RawKey: "k2", EntityType: "t2"},
			},
		},
		{
			name:    "BOM and CRLF",
			content: "\uFEFFsource_key\r\nk1\r\n",
			rows:    []keysync.Row{row(1, "k1")},
		},
		{
			name:    "semicolon delimiter with columns mapping",
			csv:     source.CSV{Delimiter: ';', Columns: map[string]string{"source_key": "ItemID", "location_ref": "Bin"}},
			content: "itemid;Bin;source_key\nk1;B-1;ignored\nk2,x;B-2;ignored\n",
			rows: []keysync.Row{
				{Record: 1, Key: "K1", RawKey: "k1", LocationRef: "B-1"},
				{Record: 2, Key: "K2,X", RawKey: "k2,x", LocationRef: "B-2"},
			},
		},
		{
			name:    "tab delimiter",
			csv:     source.CSV{Delimiter: '\t'},
			content: "source_key\tentity_type\nk1\tt\n",
			rows:    []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "t"}},
		},
		{
			name:    "headers case-insensitive and trimmed",
			content: " Source_Key ,\tENTITY_TYPE\nk1,t\n",
			rows:    []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "t"}},
		},
		{
			name:    "mapped header case-insensitive and trimmed",
			csv:     source.CSV{Columns: map[string]string{"source_key": " ItemID "}},
			content: "  ITEMID\nk1\n",
			rows:    []keysync.Row{row(1, "k1")},
		},
		{
			name:    "extra columns ignored",
			content: "id,source_key,notes,more\n1,k1,n,m\n2,k2,,\n",
			rows:    []keysync.Row{row(1, "k1"), row(2, "k2")},
		},
		{
			name:    "blank lines are not records",
			content: "\n\nsource_key\n\nk1\n\n\r\nk2\n\n",
			rows:    []keysync.Row{row(1, "k1"), row(2, "k2")},
		},
		{
			name:    "blank lines count for Line",
			content: "source_key,source_system\n\nk1,C\n\r\n\nk2,C\n",
			rejs: []keysync.Rejection{
				{Record: 1, Line: 3, RawKey: "k1", Reason: keysync.RejectSystemMismatch},
				{Record: 2, Line: 6, RawKey: "k2", Reason: keysync.RejectSystemMismatch},
			},
		},
		{
			name:    "quoted fields with delimiters, quotes and newlines",
			content: "source_key,entity_type,location_ref\n\"a,b\",\"say \"\"hi\"\"\",\"line1\nline2\"\nk2,t,l\n",
			rows: []keysync.Row{
				{Record: 1, Key: "A,B", RawKey: "a,b", EntityType: `say "hi"`, LocationRef: "line1\nline2"},
				{Record: 2, Key: "K2", RawKey: "k2", EntityType: "t", LocationRef: "l"},
			},
		},
		{
			name:    "CRLF inside quotes reads as LF",
			content: "source_key,location_ref\r\nk1,\"a\r\nb\r\n\"\r\n",
			rows:    []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", LocationRef: "a\nb\n"}},
		},
		{
			name:    "line of a record after a multi-line field",
			content: "source_key,location_ref\nk1,\"a\nb\nc\"\nk2,C\n",
			csv:     source.CSV{Columns: map[string]string{"source_system": "location_ref"}},
			rejs: []keysync.Rejection{
				{Record: 1, Line: 2, RawKey: "k1", Reason: keysync.RejectSystemMismatch},
				{Record: 2, Line: 5, RawKey: "k2", Reason: keysync.RejectSystemMismatch},
			},
		},
		{
			name:    "invalid UTF-8 in key is rejected",
			content: "source_key\nok\nab\xff\xfecd\xc3\n",
			rows:    []keysync.Row{row(1, "ok")},
			rejs:    []keysync.Rejection{{Record: 2, Line: 3, RawKey: "ab\uFFFDcd\uFFFD", Reason: keysync.RejectInvalidUTF8}},
		},
		{
			name:    "invalid UTF-8 in other fields is replaced",
			content: "source_key,entity_type,location_ref\nk1,\xff\xff,x\xe2\x82y\n",
			rows:    []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "\uFFFD", LocationRef: "x\uFFFDy"}},
		},
		{
			name:    "short record",
			content: "entity_type,location_ref,source_key\nt,l,k1\nt,l\nt\n",
			rows:    []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "t", LocationRef: "l"}},
			rejs: []keysync.Rejection{
				{Record: 2, Line: 3, RawKey: "", Reason: keysync.RejectFieldCount},
				{Record: 3, Line: 4, RawKey: "", Reason: keysync.RejectFieldCount},
			},
		},
		{
			name:    "short record with its key",
			content: "source_key,entity_type\nk1\n",
			rejs:    []keysync.Rejection{{Record: 1, Line: 2, RawKey: "k1", Reason: keysync.RejectFieldCount}},
		},
		{
			name:    "long record",
			content: "source_key,entity_type\nk1,t,extra\nk2,t\n",
			rows:    []keysync.Row{{Record: 2, Key: "K2", RawKey: "k2", EntityType: "t"}},
			rejs:    []keysync.Rejection{{Record: 1, Line: 2, RawKey: "k1", Reason: keysync.RejectFieldCount}},
		},
		{
			name:    "field_count before invalid_utf8",
			content: "source_key,entity_type\n\xff\n",
			rejs:    []keysync.Rejection{{Record: 1, Line: 2, RawKey: "\uFFFD", Reason: keysync.RejectFieldCount}},
		},
		{
			name:    "system_mismatch",
			content: "source_key,source_system\nk1,b\nk2, B \nk3,C\nk4,\n",
			rows:    []keysync.Row{row(1, "k1"), row(2, "k2"), row(4, "k4")},
			rejs:    []keysync.Rejection{{Record: 3, Line: 4, RawKey: "k3", Reason: keysync.RejectSystemMismatch}},
		},
		{
			name:    "system_mismatch before bad_timestamp",
			content: "source_key,source_system,last_seen_at\nk1,C,2024-02-30\n",
			rejs:    []keysync.Rejection{{Record: 1, Line: 2, RawKey: "k1", Reason: keysync.RejectSystemMismatch}},
		},
		{
			name:    "bad_timestamp",
			content: "source_key,last_seen_at\nk1,2024-02-30\nk2, 2024-02-29 \nk3,\n",
			rows: []keysync.Row{
				{Record: 2, Key: "K2", RawKey: "k2", LastSeenAt: "2024-02-29T00:00:00Z"},
				row(3, "k3"),
			},
			rejs: []keysync.Rejection{{Record: 1, Line: 2, RawKey: "k1", Reason: keysync.RejectBadTimestamp}},
		},
		{
			name:    "bad_timestamp before empty_key",
			content: "source_key,last_seen_at\n ,never\n",
			rejs:    []keysync.Rejection{{Record: 1, Line: 2, RawKey: " ", Reason: keysync.RejectBadTimestamp}},
		},
		{
			name:    "empty_key",
			content: "source_key,entity_type\n,t\n\"  \",t\n",
			rejs: []keysync.Rejection{
				{Record: 1, Line: 2, RawKey: "", Reason: keysync.RejectEmptyKey},
				{Record: 2, Line: 3, RawKey: "  ", Reason: keysync.RejectEmptyKey},
			},
		},
		{
			name:    "a line of spaces is a record",
			content: "source_key\nk1\n   \n",
			rows:    []keysync.Row{row(1, "k1")},
			rejs:    []keysync.Rejection{{Record: 2, Line: 3, RawKey: "   ", Reason: keysync.RejectEmptyKey}},
		},
		{
			name:    "header only",
			content: "source_key,entity_type\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rec := extract(t, tt.csv, tt.content)
			if got, want := rec.rows, tt.rows; !reflect.DeepEqual(got, want) {
				t.Errorf("rows:\n got %+v\nwant %+v", got, want)
			}
			if got, want := rec.rejs, tt.rejs; !reflect.DeepEqual(got, want) {
				t.Errorf("rejections:\n got %+v\nwant %+v", got, want)
			}
			if got, want := st.RowsRead, int64(len(tt.rows)+len(tt.rejs)); got != want {
				t.Errorf("RowsRead = %d, want %d", got, want)
			}
		})
	}
}

func TestCSVExtractFingerprint(t *testing.T) {
	content := "\uFEFFsource_key\r\nk1\r\n\r\nk2\r\n"
	path := writeFile(t, content)
	st, err := source.CSV{System: "B", Path: path}.Extract(context.Background(), testRules, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	want := source.Stats{RowsRead: 2, Fingerprint: source.Fingerprint{
		Path: path, Bytes: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
	}}
	if got := st; got.RowsRead != want.RowsRead || got.Fingerprint != want.Fingerprint {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if got, want := st.Files, []source.InputFile{{Fingerprint: want.Fingerprint, FirstRecord: 1, Records: 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %+v, want %+v", got, want)
	}
}

func TestCSVExtractFingerprintLargeFile(t *testing.T) {
	// Larger than every buffer, so the hash must see each chunk exactly once.
	var b strings.Builder
	b.WriteString("source_key\n")
	for i := range 50000 {
		fmt.Fprintf(&b, "key-%d\n", i)
	}
	content := b.String()
	path := writeFile(t, content)
	st, err := source.CSV{System: "B", Path: path}.Extract(context.Background(), testRules, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	if got, want := st.SHA256, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("SHA256 = %s, want %s", got, want)
	}
	if got, want := st.Bytes, int64(len(content)); got != want {
		t.Errorf("Bytes = %d, want %d", got, want)
	}
	if got, want := st.RowsRead, int64(50000); got != want {
		t.Errorf("RowsRead = %d, want %d", got, want)
	}
}

func TestCSVExtractFailures(t *testing.T) {
	tests := []struct {
		name    string
		csv     source.CSV
		content *string // nil: no file at all
		line    int64
		want    []string // substrings of the message
		is      error    // errors.Is target, if any
	}{
		{
			name: "missing file",
			want: []string{`source "B": read `, "B.csv: ", "no such file"},
			is:   fs.ErrNotExist,
		},
		{
			name: "a directory",
			csv:  source.CSV{Path: "."}, // replaced by the test's own directory
			want: []string{"is a directory"},
		},
		{
			name:    "empty file",
			content: ptr(""),
			want:    []string{"B.csv: empty file: no header row"},
		},
		{
			name:    "only a BOM",
			content: ptr("\uFEFF"),
			want:    []string{"no header row"},
		},
		{
			name:    "only blank lines",
			content: ptr("\n\r\n\n"),
			want:    []string{"no header row"},
		},
		{
			name:    "no key column lists the headers",
			content: ptr("id,Entity_Type, Notes \n1,t,n\n"),
			line:    1,
			want:    []string{`B.csv line 1: no source_key column; headers found: "id", "Entity_Type", " Notes "`},
		},
		{
			name:    "a header in another delimiter says which",
			content: ptr("source_system;source_key;entity_type\nA;K1;x\n"),
			line:    1,
			want:    []string{`no source_key column; headers found: "source_system;source_key;entity_type"; the header looks separated by ';': set delimiter: ";" for this source`},
		},
		{
			name:    "a tab-separated header",
			content: ptr("source_key\tentity_type\nK1\tx\n"),
			line:    1,
			want:    []string{`the header looks separated by '\t': set delimiter: "\t" for this source`},
		},
		{
			name:    "a comma header read with ';'",
			csv:     source.CSV{Delimiter: ';'},
			content: ptr("id,name\n1,x\n"),
			line:    1,
			want:    []string{`the header looks separated by ',': set delimiter: "," for this source`},
		},
		{
			name:    "no mapped key column",
			csv:     source.CSV{Columns: map[string]string{"source_key": "ItemID"}},
			content: ptr("source_key,x\nk,1\n"),
			line:    1,
			want:    []string{`no source_key column "ItemID" (from columns:); headers found: "source_key", "x"`},
		},
		{
			name:    "no mapped optional column",
			csv:     source.CSV{Columns: map[string]string{"entity_type": "Kind"}},
			content: ptr("source_key,type\nk,1\n"),
			line:    1,
			want:    []string{`no column "Kind" for entity_type`, `headers found: "source_key", "type"`},
		},
		{
			name:    "ambiguous header",
			content: ptr("source_key,SOURCE_KEY\nk,k\n"),
			line:    1,
			want:    []string{`columns 1 and 2 both match source_key`},
		},
		{
			name:    "unknown field in columns",
			csv:     source.CSV{Columns: map[string]string{"sourcekey": "ItemID"}},
			content: ptr("ItemID\nk\n"),
			want:    []string{`columns: unknown field "sourcekey"`},
		},
		{
			name:    "invalid delimiter",
			csv:     source.CSV{Delimiter: '"'},
			content: ptr("source_key\nk\n"),
			want:    []string{`invalid delimiter '"'`},
		},
		{
			name:    "bare quote",
			content: ptr("source_key,entity_type\nk1,t\nk2,t\"x\nk3,t\n"),
			line:    3,
			want:    []string{`B.csv line 3: column 5: bare " in non-quoted-field`},
			is:      csv.ErrBareQuote,
		},
		{
			name:    "text after a closing quote",
			content: ptr("source_key\n\"k1\"x\n"),
			line:    2,
			want:    []string{`B.csv line 2: column 4: extraneous or missing " in quoted-field`},
			is:      csv.ErrQuote,
		},
		{
			name:    "unclosed quote",
			content: ptr("source_key,entity_type\nk1,t\nk2,\"open\nk3,t\nk4,t\n"),
			line:    3,
			want:    []string{`B.csv line 3: record starting here breaks at line 5, column 6: extraneous or missing " in quoted-field`},
			is:      csv.ErrQuote,
		},
		{
			name:    "quote error in the header",
			content: ptr("source_key,\"entity\"type\n"),
			line:    1,
			want:    []string{`B.csv line 1: `, `extraneous or missing "`},
			is:      csv.ErrQuote,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.csv
			c.System = "B"
			c.Path = filepath.Join(t.TempDir(), "B.csv")
			if tt.csv.Path == "." {
				c.Path = t.TempDir()
			}
			if tt.content != nil {
				if err := os.WriteFile(c.Path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			st, err := c.Extract(context.Background(), testRules, &recorder{})
			if err == nil {
				t.Fatalf("Extract succeeded with %+v, want an error", st)
			}
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T (%v), want *source.Error", err, err)
			}
			if got, want := se.System, "B"; got != want {
				t.Errorf("System = %q, want %q", got, want)
			}
			if got, want := se.Path, c.Path; got != want {
				t.Errorf("Path = %q, want %q", got, want)
			}
			if got, want := se.Line, tt.line; got != want {
				t.Errorf("Line = %d, want %d", got, want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), `source "B": read `+c.Path) {
				t.Errorf("error %q does not start with the source and the path", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if got, want := st, (source.Stats{}); !reflect.DeepEqual(got, want) {
				t.Errorf("Stats = %+v, want zero on failure", got)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// failingSink refuses the n-th call.
type failingSink struct {
	n, calls int
}

var errSinkFull = errors.New("sink full")

func (s *failingSink) call() error {
	s.calls++
	if s.calls == s.n {
		return errSinkFull
	}
	return nil
}
func (s *failingSink) Accept(keysync.Row) error       { return s.call() }
func (s *failingSink) Reject(keysync.Rejection) error { return s.call() }

func TestCSVExtractSinkError(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		line int64
	}{
		{"on accept", 2, 4},
		{"on reject", 3, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "source_key\nk1\n\nk2\n,\nk4\n")
			sink := &failingSink{n: tt.n}
			_, err := source.CSV{System: "B", Path: path}.Extract(context.Background(), testRules, sink)
			if !errors.Is(err, errSinkFull) {
				t.Fatalf("error %v, want errSinkFull", err)
			}
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T, want *source.Error", err)
			}
			if got, want := se.Line, tt.line; got != want {
				t.Errorf("Line = %d, want %d", got, want)
			}
			if got, want := sink.calls, tt.n; got != want {
				t.Errorf("sink called %d times, want %d (stop at the error)", got, want)
			}
		})
	}
}

func TestCSVExtractCancel(t *testing.T) {
	var b strings.Builder
	b.WriteString("source_key\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "k%d\n", i)
	}
	path := writeFile(t, b.String())

	t.Run("before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := &recorder{}
		_, err := source.CSV{System: "B", Path: path}.Extract(ctx, testRules, rec)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if len(rec.rows) != 0 {
			t.Errorf("%d rows accepted after cancel", len(rec.rows))
		}
	})
	t.Run("midway", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sink := &cancelSink{after: 5000, cancel: cancel}
		_, err := source.CSV{System: "B", Path: path}.Extract(ctx, testRules, sink)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		var se *source.Error
		if !errors.As(err, &se) {
			t.Fatalf("error %T, want *source.Error", err)
		}
		if sink.n >= 20000 {
			t.Errorf("read all %d rows despite the cancel", sink.n)
		}
	})
}

// cancelSink cancels its context after some rows.
type cancelSink struct {
	n, after int
	cancel   func()
}

func (s *cancelSink) Accept(keysync.Row) error {
	s.n++
	if s.n == s.after {
		s.cancel()
	}
	return nil
}
func (s *cancelSink) Reject(keysync.Rejection) error { return nil }

// TestEncodingCSVAssumptions pins the behaviour of encoding/csv that the
// reader relies on, so a change in the standard library shows up here.
func TestEncodingCSVAssumptions(t *testing.T) {
	read := func(t *testing.T, in string) [][]string {
		t.Helper()
		r := csv.NewReader(bufio.NewReader(strings.NewReader(in)))
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		var out [][]string
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, append([]string(nil), rec...))
		}
	}
	tests := []struct {
		name string
		in   string
		want [][]string
	}{
		{"invalid UTF-8 kept byte for byte", "a\xff\xfe,\"q\xc3\"\n", [][]string{{"a\xff\xfe", "q\xc3"}}},
		{"blank lines skipped", "\n\na\n\r\n\nb\n\n", [][]string{{"a"}, {"b"}}},
		{"CRLF ends a record", "a,b\r\nc,d\r\n", [][]string{{"a", "b"}, {"c", "d"}}},
		{"CRLF inside quotes reads as LF", "\"a\r\nb\",c\r\n", [][]string{{"a\nb", "c"}}},
		{"spaces are a field", "  \n", [][]string{{"  "}}},
		{"lone CR kept in a field", "a\rb,c\n", [][]string{{"a\rb", "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(t, tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("reused record keeps earlier strings intact", func(t *testing.T) {
		// Rows keep the field strings without copying them; this holds
		// because each record is a fresh string and only the slice is reused.
		r := csv.NewReader(strings.NewReader("aaa,bbb\nccc,ddd\n"))
		r.ReuseRecord = true
		first, _ := r.Read()
		kept := first[0]
		if _, err := r.Read(); err != nil {
			t.Fatal(err)
		}
		if got, want := kept, "aaa"; got != want {
			t.Errorf("kept field = %q after the next Read, want %q", got, want)
		}
	})
}

func FuzzCSVExtract(f *testing.F) {
	for _, seed := range []string{
		"source_key\nk1\n",
		"\uFEFFsource_key,source_system,entity_type,location_ref,last_seen_at\r\nk,B,t,l,2024-01-01\r\n",
		"source_key,x\n\"a\r\nb\",c\n\n,\nk\n",
		"source_key\n\"open\n",
		"source_key\na\"b\n",
		"source_key,last_seen_at\n\xff,2024-02-30\nk,x,y\n",
		"x\n1\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "F.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		st, err := source.CSV{System: "B", Path: path}.Extract(context.Background(), testRules, rec)
		if err != nil {
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T (%v), want *source.Error", err, err)
			}
			return
		}
		if got, want := int64(len(rec.rows)+len(rec.rejs)), st.RowsRead; got != want {
			t.Fatalf("accepted+rejected = %d, RowsRead = %d", got, want)
		}
		if got, want := st.Bytes, int64(len(data)); got != want {
			t.Fatalf("Bytes = %d, want %d", got, want)
		}
		for _, r := range rec.rows {
			for _, s := range []string{r.Key, r.RawKey, r.EntityType, r.LocationRef, r.LastSeenAt} {
				if !utf8.ValidString(s) {
					t.Fatalf("accepted row %+v has invalid UTF-8", r)
				}
			}
			if r.Key == "" {
				t.Fatalf("accepted row %+v has an empty key", r)
			}
		}
		for _, r := range rec.rejs {
			if !utf8.ValidString(r.RawKey) {
				t.Fatalf("rejection %+v has invalid UTF-8", r)
			}
			if r.Line < 1 {
				t.Fatalf("rejection %+v has no line", r)
			}
		}
	})
}
