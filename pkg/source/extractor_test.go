package source_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/source"
)

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		typ  string
		want any
	}{
		{"", source.CSV{}},
		{source.TypeCSV, source.CSV{}},
		{source.TypeJSON, source.JSON{}},
		{source.TypeHTTP, &source.HTTP{}},
		{source.TypeSQLite, source.SQLite{}},
	} {
		ex, err := source.New(source.Spec{System: "B", Type: tt.typ})
		if err != nil {
			t.Fatalf("New(%q): %v", tt.typ, err)
		}
		if got, want := reflect.TypeOf(ex), reflect.TypeOf(tt.want); got != want {
			t.Errorf("New(%q) = %v, want %v", tt.typ, got, want)
		}
	}
	if _, err := source.New(source.Spec{System: "B", Type: "xml"}); err == nil || !strings.Contains(err.Error(), `source "B": unknown type "xml"`) {
		t.Errorf("New(xml) error = %v", err)
	}
}

// TestNewPassesOptions checks that New hands every option of a Spec to the
// extractor, by reading the same data through each type with a composite key.
func TestNewPassesOptions(t *testing.T) {
	db := MustCreateDB(t, `CREATE TABLE t (r TEXT, n TEXT, kind TEXT)`, `INSERT INTO t VALUES ('eu', '1', 'Inv'), ('us', '2', 'Ord')`)
	specs := map[string]source.Spec{
		"csv": {Type: source.TypeCSV, Delimiter: ';', Path: writeNamed(t, "B.csv", "R;N;Art\neu;1;Inv\nus;2;Ord\n"),
			Columns: map[string]string{"entity_type": "art"}, Key: []string{"r", "n"}, KeySeparator: "_"},
		"json": {Type: source.TypeJSON, Path: writeNamed(t, "B.json", `{"d":{"i":[{"k":{"r":"eu","n":1},"t":"Inv"},{"k":{"r":"us","n":2},"t":"Ord"}]}}`),
			Items: "d.i", Fields: map[string]string{"entity_type": "t"}, Key: []string{"k.r", "k.n"}, KeySeparator: "_"},
		"sqlite": {Type: source.TypeSQLite, Path: db, Query: "SELECT r, n, kind AS et FROM t ORDER BY n",
			Columns: map[string]string{"entity_type": "ET"}, Key: []string{"r", "n"}, KeySeparator: "_"},
	}
	want := []keysync.Row{
		{Record: 1, Key: "EU_1", RawKey: "eu_1", EntityType: "Inv"},
		{Record: 2, Key: "US_2", RawKey: "us_2", EntityType: "Ord"},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			spec.System = "B"
			ex, err := source.New(spec)
			if err != nil {
				t.Fatal(err)
			}
			var rec recorder
			if _, err := ex.Extract(context.Background(), testRules, &rec); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rec.rows, want) {
				t.Errorf("rows:\n got %+v\nwant %+v", rec.rows, want)
			}
		})
	}
}

func TestJoinKey(t *testing.T) {
	for _, tt := range []struct {
		parts []string
		sep   string
		want  string
	}{
		{[]string{"eu", "42"}, "-", "eu-42"},
		{[]string{"eu", "42"}, "", "eu-42"},
		{[]string{"eu", "", "42"}, "::", "eu::::42"},
		{[]string{"only"}, "-", "only"},
	} {
		if got := source.JoinKey(tt.parts, tt.sep); got != tt.want {
			t.Errorf("JoinKey(%q, %q) = %q, want %q", tt.parts, tt.sep, got, tt.want)
		}
	}
}

func TestCSVCompositeKey(t *testing.T) {
	t.Run("joined before normalization", func(t *testing.T) {
		// With the real normalization: an empty part leaves a leading
		// delimiter that collapsing removes, and all-empty parts are an empty key.
		c := source.CSV{System: "B", Path: writeFile(t, "id,region,entity_type\n42,eu,Invoice\n7,,x\n, ,y\nq\n"),
			Key: []string{" Region", "ID "}}
		var rec recorder
		rules := source.Rules{System: "B", Normalize: normalize.New(normalize.Defaults()).Key}
		if _, err := c.Extract(context.Background(), rules, &rec); err != nil {
			t.Fatal(err)
		}
		want := []keysync.Row{
			{Record: 1, Key: "EU-42", RawKey: "eu-42", EntityType: "Invoice"},
			{Record: 2, Key: "7", RawKey: "-7", EntityType: "x"},
		}
		if !reflect.DeepEqual(rec.rows, want) {
			t.Errorf("rows:\n got %+v\nwant %+v", rec.rows, want)
		}
		wantRejs := []keysync.Rejection{
			{Record: 3, Line: 4, RawKey: " -", Reason: keysync.RejectEmptyKey},
			{Record: 4, Line: 5, RawKey: "-q", Reason: keysync.RejectFieldCount},
		}
		if !reflect.DeepEqual(rec.rejs, wantRejs) {
			t.Errorf("rejections:\n got %+v\nwant %+v", rec.rejs, wantRejs)
		}
	})
	for _, tt := range []struct {
		name    string
		csv     source.CSV
		content string
		want    string
	}{
		{"missing part", source.CSV{Key: []string{"region", "id"}}, "region,x\neu,1\n",
			`no column "id" for part 2 of the composite source_key; headers found: "region", "x"`},
		{"ambiguous part", source.CSV{Key: []string{"region", "id"}}, "region,ID,id\neu,1,2\n",
			"header: columns 2 and 3 both match source_key"},
		{"both single and composite", source.CSV{Key: []string{"a", "b"}, Columns: map[string]string{"source_key": "a"}}, "a,b\n1,2\n",
			"columns: source_key is both a single name and a composite key"},
		{"empty part", source.CSV{Key: []string{"a", " "}}, "a,b\n1,2\n",
			"columns: empty name in the composite source_key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.csv
			c.System, c.Path = "B", writeFile(t, tt.content)
			_, err := c.Extract(context.Background(), testRules, &recorder{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
