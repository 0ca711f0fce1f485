package source_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// writeNamed writes content to name under a fresh t.TempDir and returns its path.
func writeNamed(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// extractJSON runs j over content and fails the test on a source error.
func extractJSON(t *testing.T, j source.JSON, content string) (source.Stats, *recorder) {
	t.Helper()
	j.Path = writeNamed(t, "B.json", content)
	if j.System == "" {
		j.System = "B"
	}
	var rec recorder
	st, err := j.Extract(context.Background(), testRules, &rec)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	return st, &rec
}

func rej(record int64, rawKey string, reason keysync.RejectReason) keysync.Rejection {
	return keysync.Rejection{Record: record, RawKey: rawKey, Reason: reason}
}

func TestJSONExtract(t *testing.T) {
	tests := []struct {
		name    string
		json    source.JSON
		content string
		rows    []keysync.Row
		rejs    []keysync.Rejection
	}{
		{
			name:    "array",
			content: `[{"source_key":"a1"},{"source_key":"b2"}]`,
			rows:    []keysync.Row{row(1, "a1"), row(2, "b2")},
		},
		{
			name:    "empty array",
			content: " [ ] \n",
		},
		{
			name:    "NDJSON",
			content: "{\"source_key\":\"a1\"}\n{\"source_key\":\"b2\"}\n\n{\"source_key\":\"c3\"}",
			rows:    []keysync.Row{row(1, "a1"), row(2, "b2"), row(3, "c3")},
		},
		{
			name:    "NDJSON with CRLF and a BOM",
			content: "\uFEFF{\"source_key\":\"a1\"}\r\n{\"source_key\":\"b2\"}\r\n",
			rows:    []keysync.Row{row(1, "a1"), row(2, "b2")},
		},
		{
			name:    "nested items",
			json:    source.JSON{Items: "data.items"},
			content: `{"meta":{"count":2,"items":["not these"]},"data":{"total":2,"items":[{"source_key":"a1"},{"source_key":"b2"}],"after":[1,{"x":[]}]}}`,
			rows:    []keysync.Row{row(1, "a1"), row(2, "b2")},
		},
		{
			name:    "items inside an array by index",
			json:    source.JSON{Items: "pages.1.items"},
			content: `{"pages":[{"items":[{"source_key":"no"}]},{"items":[{"source_key":"yes"}]}]}`,
			rows:    []keysync.Row{row(1, "yes")},
		},
		{
			name:    "null items are no items",
			json:    source.JSON{Items: "data"},
			content: `{"data":null}`,
		},
		{
			name: "fields mapped to dotted paths",
			json: source.JSON{Fields: map[string]string{
				"source_key": "id.value", "entity_type": "meta.kind", "location_ref": "where.0", "last_seen_at": "seen",
			}},
			content: `[{"id":{"value":"k1"},"meta":{"kind":"Invoice"},"where":["WH-1","WH-2"],"seen":"2024-01-02","source_key":"ignored"}]`,
			rows: []keysync.Row{{Record: 1, Key: "K1", RawKey: "k1", EntityType: "Invoice", LocationRef: "WH-1",
				LastSeenAt: "2024-01-02T00:00:00Z"}},
		},
		{
			name:    "numbers and booleans as their JSON text",
			content: `[{"source_key":42,"entity_type":true,"location_ref":-1.50e3},{"source_key":12345678901234567890,"entity_type":false}]`,
			rows: []keysync.Row{
				{Record: 1, Key: "42", RawKey: "42", EntityType: "true", LocationRef: "-1.50e3"},
				{Record: 2, Key: "12345678901234567890", RawKey: "12345678901234567890", EntityType: "false"},
			},
		},
		{
			name:    "objects and arrays as compact JSON text",
			content: `[{"source_key":"k","location_ref":{ "bin" : [1, 2] }}]`,
			rows:    []keysync.Row{{Record: 1, Key: "K", RawKey: "k", LocationRef: `{"bin":[1,2]}`}},
		},
		{
			name:    "missing and null fields are empty",
			content: `[{"source_key":"k1","entity_type":null},{"source_key":"k2","location_ref":"L"}]`,
			rows: []keysync.Row{
				{Record: 1, Key: "K1", RawKey: "k1"},
				{Record: 2, Key: "K2", RawKey: "k2", LocationRef: "L"},
			},
		},
		{
			name:    "keys match exactly",
			content: `[{"Source_Key":"k1"}]`,
			rejs:    []keysync.Rejection{rej(1, "", keysync.RejectEmptyKey)},
		},
		{
			name:    "escapes",
			content: `[{"source_key":"a\/b\u00e9\t\"q\"\\ \ud83d\ude00"}]`,
			rows:    []keysync.Row{row(1, "a/bé\t\"q\"\\ 😀")},
		},
		{
			name:    "row rules and record numbers",
			content: "[{\"source_key\":\"ok\"},{\"source_key\":\"  \"},{\"source_key\":\"k\",\"source_system\":\"C\"},{\"source_key\":\"k\",\"last_seen_at\":\"2024-02-30\"},{\"source_key\":\"a\xffb\"},{}]",
			rows:    []keysync.Row{row(1, "ok")},
			rejs: []keysync.Rejection{
				rej(2, "  ", keysync.RejectEmptyKey),
				rej(3, "k", keysync.RejectSystemMismatch),
				rej(4, "k", keysync.RejectBadTimestamp),
				rej(5, "a\uFFFDb", keysync.RejectInvalidUTF8),
				rej(6, "", keysync.RejectEmptyKey),
			},
		},
		{
			name:    "composite key",
			json:    source.JSON{Key: []string{"region", "id"}},
			content: `[{"region":"eu","id":42},{"id":"7"},{"region":"us","id":"7","source_key":"ignored"}]`,
			rows: []keysync.Row{
				{Record: 1, Key: "EU-42", RawKey: "eu-42"},
				{Record: 2, Key: "-7", RawKey: "-7"},
				{Record: 3, Key: "US-7", RawKey: "us-7"},
			},
		},
		{
			name:    "composite key with a separator",
			json:    source.JSON{Key: []string{"a.b", "c"}, KeySeparator: "_"},
			content: `[{"a":{"b":"x"},"c":"y"}]`,
			rows:    []keysync.Row{{Record: 1, Key: "X_Y", RawKey: "x_y"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rec := extractJSON(t, tt.json, tt.content)
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

func TestJSONExtractFingerprint(t *testing.T) {
	content := "\uFEFF[{\"source_key\":\"a\"}]\n\n"
	st, _ := extractJSON(t, source.JSON{}, content)
	sum := sha256.Sum256([]byte(content))
	if got, want := st.Bytes, int64(len(content)); got != want {
		t.Errorf("Bytes = %d, want %d", got, want)
	}
	if got, want := st.SHA256, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("SHA256 = %s, want %s", got, want)
	}
	if !strings.HasSuffix(st.Path, "B.json") {
		t.Errorf("Path = %q, want the file", st.Path)
	}
}

func TestJSONExtractFailures(t *testing.T) {
	tests := []struct {
		name    string
		json    source.JSON
		content *string // nil: no file
		want    []string
		is      error
	}{
		{name: "missing file", want: []string{`source "B": read `, "no such file"}, is: fs.ErrNotExist},
		{name: "empty file", content: ptr(""), want: []string{"empty: no JSON value"}},
		{name: "only white space", content: ptr(" \n\t"), want: []string{"empty: no JSON value"}},
		{name: "a scalar document", content: ptr(`"k"`), want: []string{"found a string"}},
		{
			name:    "bad JSON at item 3 names the item",
			content: ptr(`[{"source_key":"a"},{"source_key":"b"},{"source_key":c}]`),
			want:    []string{"item 3: invalid JSON at byte", "invalid character 'c'"},
		},
		{
			name:    "bad NDJSON line names the item",
			content: ptr("{\"source_key\":\"a\"}\n{\"source_key\":\"b\",}\n"),
			want:    []string{"item 2: invalid JSON"},
		},
		{
			name:    "truncated array",
			content: ptr(`[{"source_key":"a"},{"source_key":`),
			want:    []string{"item 2", "unexpected end of input"},
		},
		{
			name:    "truncated after an item",
			content: ptr(`[{"source_key":"a"}`),
			want:    []string{"invalid JSON", "unexpected end of input"},
		},
		{
			name:    "item not an object",
			content: ptr(`[{"source_key":"a"},"b"]`),
			want:    []string{"item 2: is a string, not an object"},
		},
		{
			name:    "data after the document",
			content: ptr(`[{"source_key":"a"}] [{"source_key":"b"}]`),
			want:    []string{"data after the end of the document"},
		},
		{
			name:    "missing items path",
			json:    source.JSON{Items: "data.items"},
			content: ptr(`{"data":{"rows":[]}}`),
			want:    []string{`no items at "data.items"`},
		},
		{
			name:    "items path through a scalar",
			json:    source.JSON{Items: "data.items"},
			content: ptr(`{"data":"x"}`),
			want:    []string{`no items at "data.items"`},
		},
		{
			name:    "items path not an array",
			json:    source.JSON{Items: "data"},
			content: ptr(`{"data":{"source_key":"a"}}`),
			want:    []string{`items path "data" holds an object, not an array`},
		},
		{
			name:    "syntax error outside the items",
			json:    source.JSON{Items: "data"},
			content: ptr(`{"meta": tru, "data":[]}`),
			want:    []string{"invalid JSON at byte"},
		},
		{
			name:    "bad items path",
			json:    source.JSON{Items: "data..items"},
			content: ptr(`{}`),
			want:    []string{`items: empty segment in path "data..items"`},
		},
		{
			name:    "unknown field in fields",
			json:    source.JSON{Fields: map[string]string{"sku": "id"}},
			content: ptr(`[]`),
			want:    []string{`fields: unknown field "sku"`},
		},
		{
			name:    "source_key both single and composite",
			json:    source.JSON{Fields: map[string]string{"source_key": "id"}, Key: []string{"a", "b"}},
			content: ptr(`[]`),
			want:    []string{"source_key is both a single name and a composite key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.json
			j.System = "B"
			if tt.content != nil {
				j.Path = writeNamed(t, "B.json", *tt.content)
			} else {
				j.Path = filepath.Join(t.TempDir(), "B.json")
			}
			var rec recorder
			st, err := j.Extract(context.Background(), testRules, &rec)
			if err == nil {
				t.Fatalf("Extract succeeded (%+v), want an error", st)
			}
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T, want *source.Error", err)
			}
			if se.System != "B" || se.Path != j.Path {
				t.Errorf("Error{System: %q, Path: %q}, want B and %s", se.System, se.Path, j.Path)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if !reflect.DeepEqual(st, source.Stats{}) {
				t.Errorf("Stats = %+v on failure, want zero", st)
			}
		})
	}
}

func TestJSONExtractCancel(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range 20000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"source_key":"k%d"}`, i)
	}
	b.WriteString("]")
	path := writeNamed(t, "B.json", b.String())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := source.JSON{System: "B", Path: path}.Extract(ctx, testRules, &recorder{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestJSONExtractLarge reads a generated document of many items nested under
// an items path, beside other large values the reader must skip.
func TestJSONExtractLarge(t *testing.T) {
	const n = 100_000
	path := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(`{"before":[`)
	for i := range 1000 {
		if i > 0 {
			w.WriteString(",")
		}
		fmt.Fprintf(w, `{"x":%d,"y":["a","b"]}`, i)
	}
	w.WriteString(`],"data":{"items":[`)
	for i := range n {
		if i > 0 {
			w.WriteString(",\n")
		}
		fmt.Fprintf(w, `{"id":{"v":"inv-%d"},"kind":"Invoice","n":%d}`, i, i)
	}
	w.WriteString("]}}\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var d counter
	st, err := source.JSON{System: "B", Path: path, Items: "data.items",
		Fields: map[string]string{"source_key": "id.v", "entity_type": "kind"}}.Extract(context.Background(), testRules, &d)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsRead != n || d.rows != n || d.last != fmt.Sprintf("INV-%d", n-1) {
		t.Fatalf("RowsRead %d, accepted %d, last key %q; want %d rows ending INV-%d", st.RowsRead, d.rows, d.last, n, n-1)
	}
}

// counter is a Sink that keeps counts and the last key only.
type counter struct {
	rows, rejs int64
	last       string
}

func (c *counter) Accept(r keysync.Row) error     { c.rows++; c.last = r.Key; return nil }
func (c *counter) Reject(keysync.Rejection) error { c.rejs++; return nil }

func FuzzJSONExtract(f *testing.F) {
	for _, seed := range []string{
		`[{"source_key":"k1","entity_type":1}]`,
		"{\"source_key\":\"a\"}\n{\"source_key\":\"\xff\"}\n",
		`{"data":{"items":[{"source_key":"k","last_seen_at":"2024-02-30"}]}}`,
		`[{"source_key":"\ud800x"}]`,
		`[1,2]`,
		`[{"source_key":{"a":[1]}}]`,
		``,
	} {
		f.Add([]byte(seed), seed[:min(len(seed), 1)] == "{")
	}
	f.Fuzz(func(t *testing.T, data []byte, nested bool) {
		path := filepath.Join(t.TempDir(), "F.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j := source.JSON{System: "B", Path: path}
		if nested {
			j.Items = "data.items"
		}
		rec := &recorder{}
		st, err := j.Extract(context.Background(), testRules, rec)
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
			if !utf8.ValidString(r.Key) || r.Key == "" {
				t.Fatalf("accepted row %+v has an invalid or empty key", r)
			}
		}
	})
}

// The JSON reader tells a ByteCounter sink its running byte count, ending at
// the file's size, while the items are being read.
func TestJSONReportsBytesRead(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; b.Len() < 300<<10; i++ { // several reads of the 64 KiB buffer
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"source_key":"k%d"}`, i)
	}
	b.WriteString("]")
	path := writeNamed(t, "B.json", b.String())
	sink := &countingSink{}
	st, err := source.JSON{System: "B", Path: path}.Extract(context.Background(), testRules, sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.totals) < 4 {
		t.Fatalf("BytesRead called %d times, want one per read", len(sink.totals))
	}
	if last := sink.totals[len(sink.totals)-1]; last != int64(b.Len()) || last != st.Bytes {
		t.Errorf("last BytesRead = %d, want the file size %d (stats say %d)", last, b.Len(), st.Bytes)
	}
	midway := false
	for _, rows := range sink.at {
		midway = midway || rows > 0 && rows < st.RowsRead
	}
	if !midway {
		t.Error("no BytesRead while the items were being read")
	}
}
