package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/config"
)

// withA puts source B (written as a flow mapping) beside a CSV authority.
func withA(b string) string {
	return "sources:\n  A: { path: a.csv }\n  B: " + b + "\n"
}

func TestParse_SourceTypes(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want config.Source
	}{
		{
			name: "json",
			b:    `{ type: json, path: in/b.json, items: data.items, fields: { source_key: id.value, entity_type: kind } }`,
			want: config.Source{Name: "B", Type: "json", Path: "/etc/keysync/in/b.json", Items: "data.items",
				Fields: map[string]string{"source_key": "id.value", "entity_type": "kind"}},
		},
		{
			name: "json, NDJSON or a top-level array",
			b:    `{ type: json, path: b.ndjson }`,
			want: config.Source{Name: "B", Type: "json", Path: "/etc/keysync/b.ndjson"},
		},
		{
			name: "json composite key",
			b:    `{ type: json, path: b.json, fields: { source_key: [region, id.n] } }`,
			want: config.Source{Name: "B", Type: "json", Path: "/etc/keysync/b.json", Fields: map[string]string{}, Key: []string{"region", "id.n"}},
		},
		{
			name: "sqlite",
			b:    `{ type: sqlite, path: /data/b.db, query: "SELECT id AS source_key FROM items", columns: { entity_type: Kind } }`,
			want: config.Source{Name: "B", Type: "sqlite", Path: "/data/b.db", Query: "SELECT id AS source_key FROM items",
				Columns: map[string]string{"entity_type": "Kind"}},
		},
		{
			name: "csv composite key",
			b:    `{ path: b.csv, columns: { source_key: [Region, ItemID], last_seen_at: Seen } }`,
			want: config.Source{Name: "B", Type: "csv", Path: "/etc/keysync/b.csv", Delimiter: ',',
				Columns: map[string]string{"last_seen_at": "Seen"}, Key: []string{"Region", "ItemID"}},
		},
		{
			name: "a one-name list is a single name",
			b:    `{ path: b.csv, columns: { source_key: [ItemID] } }`,
			want: config.Source{Name: "B", Type: "csv", Path: "/etc/keysync/b.csv", Delimiter: ',',
				Columns: map[string]string{"source_key": "ItemID"}},
		},
		{
			name: "csv as an ERP writes it",
			b:    `{ path: "exports/B_*.csv.gz", pick: all, encoding: " Windows-1252 ", member: B.csv, header: false, columns: { source_key: 2, last_seen_at: "5" } }`,
			want: config.Source{Name: "B", Type: "csv", Path: "/etc/keysync/exports/B_*.csv.gz", Delimiter: ',',
				Pick: "all", Encoding: "windows-1252", Member: "B.csv", NoHeader: true,
				Columns: map[string]string{"source_key": "2", "last_seen_at": "5"}},
		},
		{
			name: "a filter",
			b:    `{ path: b.csv, filter: " entity_type <> 'archived' AND key NOT LIKE 'TEST-%' " }`,
			want: config.Source{Name: "B", Type: "csv", Path: "/etc/keysync/b.csv", Delimiter: ',',
				Filter: "entity_type <> 'archived' AND key NOT LIKE 'TEST-%'"},
		},
		{
			name: "header-less composite key",
			b:    `{ path: b.csv, header: false, columns: { source_key: [1, 3] } }`,
			want: config.Source{Name: "B", Type: "csv", Path: "/etc/keysync/b.csv", Delimiter: ',', NoHeader: true,
				Columns: map[string]string{}, Key: []string{"1", "3"}},
		},
		{
			name: "json newest of a glob, utf-16",
			b:    `{ type: json, path: "in/*.json", pick: newest, encoding: utf-16le }`,
			want: config.Source{Name: "B", Type: "json", Path: "/etc/keysync/in/*.json", Pick: "newest", Encoding: "utf-16le"},
		},
		{
			name: "http defaults",
			b:    `{ type: http, url: "https://api.example.com/items" }`,
			want: config.Source{Name: "B", Type: "http", URL: "https://api.example.com/items",
				Timeout: 30 * time.Second, MaxPages: 10000, Retries: 3, Backoff: time.Second},
		},
		{
			name: "http with everything",
			b: `{ type: http, url: "https://api.example.com/items?key=${B_KEY}", headers: { Authorization: "Bearer ${B_TOKEN}" },
			      items: data, fields: { source_key: [r, id] }, next: links.next, timeout: 5s, max_pages: 50, retries: 0, backoff: 250ms }`,
			want: config.Source{Name: "B", Type: "http", URL: "https://api.example.com/items?key=${B_KEY}",
				Headers: config.Headers{"Authorization": "Bearer ${B_TOKEN}"}, Items: "data",
				Fields: map[string]string{}, Key: []string{"r", "id"}, Pagination: "next", Next: "links.next",
				Timeout: 5 * time.Second, MaxPages: 50, Retries: 0, Backoff: 250 * time.Millisecond},
		},
		{
			name: "http Link header",
			b:    `{ type: http, url: "http://localhost:8080/x", pagination: link }`,
			want: config.Source{Name: "B", Type: "http", URL: "http://localhost:8080/x", Pagination: "link",
				Timeout: 30 * time.Second, MaxPages: 10000, Retries: 3, Backoff: time.Second},
		},
		{
			name: "http page parameter defaults",
			b:    `{ type: http, url: "https://x/items", pagination: page }`,
			want: config.Source{Name: "B", Type: "http", URL: "https://x/items", Pagination: "page", PageParam: "page", PageStart: 1,
				Timeout: 30 * time.Second, MaxPages: 10000, Retries: 3, Backoff: time.Second},
		},
		{
			name: "http offset parameter",
			b:    `{ type: http, url: "https://x/items?limit=100", pagination: offset, page_param: skip }`,
			want: config.Source{Name: "B", Type: "http", URL: "https://x/items?limit=100", Pagination: "offset", PageParam: "skip",
				Timeout: 30 * time.Second, MaxPages: 10000, Retries: 3, Backoff: time.Second},
		},
		{
			name: "http page from 0",
			b:    `{ type: http, url: "https://x/items", pagination: page, page_param: p, page_start: 0 }`,
			want: config.Source{Name: "B", Type: "http", URL: "https://x/items", Pagination: "page", PageParam: "p", PageStart: 0,
				Timeout: 30 * time.Second, MaxPages: 10000, Retries: 3, Backoff: time.Second},
		},
		{
			name: "postgres defaults",
			b:    `{ type: postgres, dsn: "postgres://keysync:${B_PW}@db-b:5432/erp", query: "SELECT code AS source_key FROM items" }`,
			want: config.Source{Name: "B", Type: "postgres", DSN: "postgres://keysync:${B_PW}@db-b:5432/erp",
				Query: "SELECT code AS source_key FROM items", Timeout: 10 * time.Minute, Retries: 3, Backoff: time.Second},
		},
		{
			name: "mysql with everything",
			b: `{ type: mysql, dsn: " keysync:${C_PW}@tcp(db-c:3306)/erp ", query: "SELECT r, id, seen FROM items",
			      columns: { source_key: [r, id], last_seen_at: seen }, timeout: 5m, retries: 0, backoff: 2s }`,
			want: config.Source{Name: "B", Type: "mysql", DSN: "keysync:${C_PW}@tcp(db-c:3306)/erp", Query: "SELECT r, id, seen FROM items",
				Columns: map[string]string{"last_seen_at": "seen"}, Key: []string{"r", "id"},
				Timeout: 5 * time.Minute, Retries: 0, Backoff: 2 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustParse(t, withA(tt.b))
			if got := c.Sources["B"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("source B:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

// dump prints a Source with its headers' values, for test failures only.
func dump(s config.Source) string {
	h := map[string]string(s.Headers)
	s.Headers = nil
	return fmt.Sprintf("%+v headers=%v", s, h)
}

func TestParse_SourceErrors(t *testing.T) {
	tests := []struct {
		name  string
		b     string
		field string
		value string // "" = not checked
	}{
		// Type and the options each type takes.
		{"unknown type", `{ type: xml, path: b.xml }`, "sources.B.type", "xml"},
		{"unknown key still rejected", `{ type: json, path: b.json, item: data }`, "sources.B.item", ""},
		{"csv with url", `{ path: b.csv, url: "https://x" }`, "sources.B.url", ""},
		{"csv with fields", `{ path: b.csv, fields: { source_key: id } }`, "sources.B.fields", ""},
		{"json with columns", `{ type: json, path: b.json, columns: { source_key: id } }`, "sources.B.columns", ""},
		{"json with delimiter", `{ type: json, path: b.json, delimiter: ";" }`, "sources.B.delimiter", ""},
		{"json with query", `{ type: json, path: b.json, query: "SELECT 1" }`, "sources.B.query", ""},
		{"sqlite with items", `{ type: sqlite, path: b.db, query: "SELECT 1", items: x }`, "sources.B.items", ""},
		{"sqlite with headers", `{ type: sqlite, path: b.db, query: "SELECT 1", headers: { A: b } }`, "sources.B.headers", ""},
		{"http with path", `{ type: http, url: "https://x", path: b.json }`, "sources.B.path", ""},
		{"http with columns", `{ type: http, url: "https://x", columns: { source_key: id } }`, "sources.B.columns", ""},
		{"csv with timeout", `{ path: b.csv, timeout: 5s }`, "sources.B.timeout", ""},

		// How files are found and read.
		{"unknown encoding", `{ path: b.csv, encoding: klingon }`, "sources.B.encoding", "klingon"},
		{"unknown pick", `{ path: "b*.csv", pick: first }`, "sources.B.pick", "first"},
		{"bad glob", `{ path: "b[.csv" }`, "sources.B.path", ""},
		{"blank member", `{ path: b.zip, member: " " }`, "sources.B.member", " "},
		{"header not a bool", `{ path: b.csv, header: no_thanks }`, "sources.B.header", "no_thanks"},
		{"header on json", `{ type: json, path: b.json, header: false }`, "sources.B.header", ""},
		{"encoding on sqlite", `{ type: sqlite, path: b.db, query: "SELECT 1", encoding: utf-8 }`, "sources.B.encoding", ""},
		{"pick on http", `{ type: http, url: "https://x", pick: all }`, "sources.B.pick", ""},
		{"header-less without source_key", `{ path: b.csv, header: false, columns: { location_ref: 1 } }`, "sources.B.columns.source_key", ""},
		{"header-less name for a position", `{ path: b.csv, header: false, columns: { source_key: id } }`, "sources.B.columns.source_key", "id"},
		{"header-less position 0", `{ path: b.csv, header: false, columns: { source_key: 0 } }`, "sources.B.columns.source_key", "0"},
		{"header-less position twice", `{ path: b.csv, header: false, columns: { source_key: 1, location_ref: 1 } }`, "sources.B.columns.source_key", "1"},
		{"header-less key part not a position", `{ path: b.csv, header: false, columns: { source_key: [1, x] } }`, "sources.B.columns.source_key", "x"},

		// filter.
		{"filter empty", `{ path: b.csv, filter: " " }`, "sources.B.filter", " "},
		{"filter syntax", `{ path: b.csv, filter: "key = " }`, "sources.B.filter", ""},
		{"filter other column", `{ path: b.csv, filter: "sku = 'x'" }`, "sources.B.filter", ""},
		{"filter two statements", `{ type: sqlite, path: b.db, query: "SELECT 1", filter: "1; DELETE FROM x" }`, "sources.B.filter", ""},

		// Required options.
		{"json needs a path", `{ type: json, items: data }`, "sources.B.path", ""},
		{"sqlite needs a path", `{ type: sqlite, query: "SELECT 1" }`, "sources.B.path", ""},
		{"sqlite needs a query", `{ type: sqlite, path: b.db }`, "sources.B.query", ""},
		{"sqlite blank query", `{ type: sqlite, path: b.db, query: "  " }`, "sources.B.query", ""},
		{"http needs a url", `{ type: http, items: data }`, "sources.B.url", ""},

		// fields, columns and composite keys.
		{"fields not a contract field", `{ type: json, path: b.json, fields: { sku: id } }`, "sources.B.fields.sku", ""},
		{"fields empty path", `{ type: json, path: b.json, fields: { source_key: " " } }`, "sources.B.fields.source_key", ""},
		{"fields empty segment", `{ type: json, path: b.json, fields: { source_key: "id..v" } }`, "sources.B.fields.source_key", "id..v"},
		{"fields not a name", `{ type: json, path: b.json, fields: { source_key: { a: b } } }`, "sources.B.fields.source_key", ""},
		{"items empty segment", `{ type: json, path: b.json, items: "data." }`, "sources.B.items", "data."},
		{"list for another field", `{ path: b.csv, columns: { entity_type: [a, b] } }`, "sources.B.columns.entity_type", ""},
		{"list for a non-field", `{ path: b.csv, columns: { sku: [a, b] } }`, "sources.B.columns.sku", ""},
		{"empty key list", `{ path: b.csv, columns: { source_key: [] } }`, "sources.B.columns.source_key", ""},
		{"key part empty", `{ path: b.csv, columns: { source_key: [a, " "] } }`, "sources.B.columns.source_key", ""},
		{"key part twice", `{ path: b.csv, columns: { source_key: [a, A] } }`, "sources.B.columns.source_key", "A"},
		{"json key part twice", `{ type: json, path: b.json, fields: { source_key: [a, a] } }`, "sources.B.fields.source_key", "a"},
		{"json key part bad path", `{ type: json, path: b.json, fields: { source_key: [a, "b..c"] } }`, "sources.B.fields.source_key", "b..c"},
		{"key list of lists", `{ path: b.csv, columns: { source_key: [[a]] } }`, "sources.B.columns.source_key", ""},

		// http.
		{"url not http", `{ type: http, url: "ftp://x/y" }`, "sources.B.url", ""},
		{"url relative", `{ type: http, url: "/items" }`, "sources.B.url", ""},
		{"url no host", `{ type: http, url: "https:///items" }`, "sources.B.url", ""},
		{"url unclosed reference", `{ type: http, url: "https://x/?k=${KEY" }`, "sources.B.url", ""},
		{"url bad reference", `{ type: http, url: "https://x/?k=${1KEY}" }`, "sources.B.url", ""},
		{"header bad name", `{ type: http, url: "https://x", headers: { "Bad Name": v } }`, "sources.B.headers.Bad Name", ""},
		{"header bad reference", `{ type: http, url: "https://x", headers: { Authorization: "Bearer ${}" } }`, "sources.B.headers.Authorization", ""},
		{"header line break", `{ type: http, url: "https://x", headers: { X-A: "a\nb" } }`, "sources.B.headers.X-A", ""},
		{"headers not a mapping", `{ type: http, url: "https://x", headers: [a] }`, "sources.B.headers", ""},
		{"pagination unknown", `{ type: http, url: "https://x", pagination: cursor }`, "sources.B.pagination", "cursor"},
		{"pagination next without next", `{ type: http, url: "https://x", items: d, pagination: next }`, "sources.B.next", ""},
		{"next without items", `{ type: http, url: "https://x", next: links.next }`, "sources.B.items", ""},
		{"next bad path", `{ type: http, url: "https://x", items: d, next: "links..next" }`, "sources.B.next", "links..next"},
		{"next with pagination link", `{ type: http, url: "https://x", items: d, pagination: link, next: n }`, "sources.B.next", "n"},
		{"page_param without page pagination", `{ type: http, url: "https://x", page_param: p }`, "sources.B.page_param", ""},
		{"page_start with link pagination", `{ type: http, url: "https://x", pagination: link, page_start: 1 }`, "sources.B.page_start", ""},
		{"page_param empty", `{ type: http, url: "https://x", pagination: page, page_param: "" }`, "sources.B.page_param", ""},
		{"page_start negative", `{ type: http, url: "https://x", pagination: offset, page_start: -1 }`, "sources.B.page_start", "-1"},
		{"page_start not a number", `{ type: http, url: "https://x", pagination: page, page_start: one }`, "sources.B.page_start", "one"},
		{"timeout not a duration", `{ type: http, url: "https://x", timeout: 30 }`, "sources.B.timeout", "30"},
		{"timeout zero", `{ type: http, url: "https://x", timeout: 0s }`, "sources.B.timeout", "0s"},
		{"timeout negative", `{ type: http, url: "https://x", timeout: -1s }`, "sources.B.timeout", "-1s"},
		{"backoff zero", `{ type: http, url: "https://x", backoff: 0ms }`, "sources.B.backoff", "0s"},
		{"backoff garbage", `{ type: http, url: "https://x", backoff: soon }`, "sources.B.backoff", "soon"},
		{"max_pages zero", `{ type: http, url: "https://x", max_pages: 0 }`, "sources.B.max_pages", "0"},
		{"max_pages not a number", `{ type: http, url: "https://x", max_pages: many }`, "sources.B.max_pages", "many"},
		{"retries negative", `{ type: http, url: "https://x", retries: -1 }`, "sources.B.retries", "-1"},
		{"retries too many", `{ type: http, url: "https://x", retries: 1000 }`, "sources.B.retries", "1000"},

		// postgres and mysql.
		{"postgres needs a dsn", `{ type: postgres, query: "SELECT 1" }`, "sources.B.dsn", ""},
		{"mysql blank dsn", `{ type: mysql, dsn: " ", query: "SELECT 1" }`, "sources.B.dsn", ""},
		{"postgres needs a query", `{ type: postgres, dsn: "postgres://db/erp" }`, "sources.B.query", ""},
		{"mysql blank query", `{ type: mysql, dsn: "u@tcp(db)/erp", query: " " }`, "sources.B.query", ""},
		{"dsn bad reference", `{ type: postgres, dsn: "postgres://u:${1PW}@db/erp", query: "SELECT 1" }`, "sources.B.dsn", ""},
		{"dsn unclosed reference", `{ type: mysql, dsn: "u:${PW@tcp(db)/erp", query: "SELECT 1" }`, "sources.B.dsn", ""},
		{"dsn line break", `{ type: postgres, dsn: "host=db\npassword=x", query: "SELECT 1" }`, "sources.B.dsn", ""},
		{"postgres with path", `{ type: postgres, dsn: "postgres://db/erp", query: "SELECT 1", path: b.db }`, "sources.B.path", ""},
		{"mysql with url", `{ type: mysql, dsn: "u@tcp(db)/erp", query: "SELECT 1", url: "https://x" }`, "sources.B.url", ""},
		{"postgres with max_pages", `{ type: postgres, dsn: "postgres://db/erp", query: "SELECT 1", max_pages: 2 }`, "sources.B.max_pages", ""},
		{"sqlite with dsn", `{ type: sqlite, path: b.db, query: "SELECT 1", dsn: "postgres://db/erp" }`, "sources.B.dsn", ""},
		{"http with dsn", `{ type: http, url: "https://x", dsn: "postgres://db/erp" }`, "sources.B.dsn", ""},
		{"db columns not a field", `{ type: mysql, dsn: "u@tcp(db)/erp", query: "SELECT 1", columns: { sku: id } }`, "sources.B.columns.sku", ""},
		{"db timeout zero", `{ type: postgres, dsn: "postgres://db/erp", query: "SELECT 1", timeout: 0s }`, "sources.B.timeout", "0s"},
		{"db timeout garbage", `{ type: mysql, dsn: "u@tcp(db)/erp", query: "SELECT 1", timeout: long }`, "sources.B.timeout", "long"},
		{"db backoff negative", `{ type: postgres, dsn: "postgres://db/erp", query: "SELECT 1", backoff: -1s }`, "sources.B.backoff", "-1s"},
		{"db retries too many", `{ type: mysql, dsn: "u@tcp(db)/erp", query: "SELECT 1", retries: 21 }`, "sources.B.retries", "21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(strings.NewReader(withA(tt.b)), dir)
			ce := mustConfigError(t, err, tt.field)
			if tt.value != "" {
				if got, want := ce.Value, tt.value; got != want {
					t.Errorf("Value = %q, want %q (error: %v)", got, want, err)
				}
			}
		})
	}
}

// TestParse_SourceOptionsListed: a key of another type is refused with the
// options the source's type does take.
func TestParse_SourceOptionsListed(t *testing.T) {
	_, err := config.Parse(strings.NewReader(withA(`{ type: json, path: b.json, delimiter: ";" }`)), dir)
	mustConfigError(t, err, "sources.B.delimiter")
	if got, want := err.Error(), "config: sources.B.delimiter: does not apply to a json source (its options: type, path, pick, encoding, member, items, fields, filter)"; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}

// TestSecretsNeverInConfigOutput: a Config keeps ${NAME} references as
// written (the environment is read when the source is), and printing it or
// logging it never shows a header value, nor a secret in an error.
func TestSecretsNeverInConfigOutput(t *testing.T) {
	const literal = "literal-s3cret-value"
	t.Setenv("KEYSYNC_TEST_TOKEN", "env-s3cret-value")
	c := MustParse(t, withA(`{ type: http, url: "https://x/items?token=${KEYSYNC_TEST_TOKEN}",
	  headers: { Authorization: "Bearer ${KEYSYNC_TEST_TOKEN}", X-Api-Key: "`+literal+`" } }`))
	b := c.Sources["B"]
	if got, want := b.Headers["Authorization"], "Bearer ${KEYSYNC_TEST_TOKEN}"; got != want {
		t.Errorf("Authorization = %q, want the reference unexpanded %q", got, want)
	}
	if got, want := b.URL, "https://x/items?token=${KEYSYNC_TEST_TOKEN}"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "headers", b.Headers, "source", b)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "headers", b.Headers)
	outputs := map[string]string{
		"%v":  fmt.Sprintf("%v", c),
		"%+v": fmt.Sprintf("%+v", b),
		"%#v": fmt.Sprintf("%#v", b),
		"%s":  fmt.Sprintf("%s", b.Headers),
		"log": logged.String(),
	}
	for name, out := range outputs {
		for _, secret := range []string{literal, "env-s3cret-value"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output shows %q: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, "Authorization") {
			t.Errorf("%s output does not name the header: %s", name, out)
		}
	}

	// A bad header or URL is reported without its value.
	for _, b := range []string{
		`{ type: http, url: "https://x", headers: { X-Api-Key: "` + literal + `${" } }`,
		`{ type: http, url: "https:///` + literal + `" }`,
	} {
		_, err := config.Parse(strings.NewReader(withA(b)), dir)
		if err == nil || strings.Contains(err.Error(), literal) {
			t.Errorf("error %v shows the value", err)
		}
	}
}

// TestParse_DSNNeverQuoted: a dsn may hold a literal password, so no error
// about it shows its text.
func TestParse_DSNNeverQuoted(t *testing.T) {
	for _, b := range []string{
		`{ type: postgres, dsn: "postgres://u:s3cret-PW@db/erp?x=${1}", query: "SELECT 1" }`,
		`{ type: mysql, dsn: "u:s3cret-PW@tcp(db)/erp", query: " " }`,
		`{ type: mysql, dsn: "u:s3cret-PW@tcp(db)/erp", query: "SELECT 1", path: x }`,
	} {
		_, err := config.Parse(strings.NewReader(withA(b)), dir)
		if err == nil || strings.Contains(err.Error(), "s3cret-PW") {
			t.Errorf("%s: error %v", b, err)
		}
	}
}
