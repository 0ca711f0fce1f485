package source_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

func TestFilter(t *testing.T) {
	rows := []keysync.Row{
		{Record: 1, RawKey: "inv-1", Key: "INV-1", EntityType: "invoice", LocationRef: "Köln", LastSeenAt: "2026-12-01T00:00:00Z"},
		{Record: 2, RawKey: "test-2", Key: "TEST-2", EntityType: "invoice"},
		{Record: 3, RawKey: "inv-3", Key: "INV-3", EntityType: "archived"},
		{Record: 4, RawKey: "inv-4", Key: "INV-4"},
		{Record: 5, RawKey: "q\"\\\x01é", Key: "Q"}, // what JSON must escape
	}
	tests := []struct {
		expr string
		want string // records kept
	}{
		{"entity_type <> 'archived' AND key NOT LIKE 'TEST-%'", "1 4 5"},
		{"source_key GLOB 'inv-*'", "1 3 4"},
		{`source_key = 'q"\' || char(1) || 'é'`, "5"},
		{"location_ref = 'Köln'", "1"},
		{"last_seen_at >= '2026-12-01'", "1"},
		{"NULL", ""},        // not true: left out
		{"entity_type", ""}, // text is not true
		{"1", "1 2 3 4 5"},
		{"length(key) = 5 and key in ('INV-1', 'INV-4')", "1 4"},
		{"key = 'it''s' OR key = 'INV-3' -- a comment", "3"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := source.CompileFilter(context.Background(), tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			kept, n, err := f.Keep(context.Background(), append([]keysync.Row(nil), rows...))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range kept {
				got = append(got, fmt.Sprint(r.Record))
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("kept %q, want %q", got, tt.want)
			}
			if int(n)+len(kept) != len(rows) {
				t.Errorf("left out %d, kept %d, of %d rows", n, len(kept), len(rows))
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"":                                    "empty filter",
		"sku = 'x'":                           "no such column: sku",
		"key = ":                              "syntax error",
		"key = 'x'; DROP TABLE t":             "without ';'",
		"1) THEN 1 ELSE 0 END FROM (SELECT 1": "without its '('",
		"(key = 'x'":                          "without its ')'",
		"key = 'x' /* and the rest":           "no /* comments",
		"key = 'unclosed":                     "unclosed '",
		"no_such_function(key)":               "no such function",
		`"keysync row index" > 0`:             "no such column",
	} {
		t.Run(expr, func(t *testing.T) {
			f, err := source.CompileFilter(context.Background(), expr)
			if err == nil {
				f.Close()
				t.Fatalf("compiled, want an error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q, want it to contain %q", err, want)
			}
		})
	}
}

// TestFilterCost measures what a filter costs per row, a batch of 4096 at
// a time as the run sends them, and keeps it bounded.
func TestFilterCost(t *testing.T) {
	f, err := source.CompileFilter(context.Background(), "entity_type <> 'archived' AND key NOT LIKE 'TEST-%'")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	batch := make([]keysync.Row, 4096)
	const batches = 25
	start := time.Now()
	for range batches {
		for i := range batch {
			batch[i] = keysync.Row{RawKey: "inv-1", Key: "INV-00000001", EntityType: "invoice", LocationRef: "WH-BER-01", LastSeenAt: "2026-12-01T00:00:00Z"}
		}
		if _, _, err := f.Keep(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / (batches * 4096)
	t.Logf("filter cost: %v per row", per)
	if per > 50*time.Microsecond {
		t.Errorf("filter costs %v per row, want well under 50µs", per)
	}
}
