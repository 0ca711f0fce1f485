package reconcile

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/config"
)

// TestWarnEncoding: the "probably not UTF-8" hint comes when a file read as
// UTF-8 had keys that are not, and none of its accepted rows showed valid
// non-ASCII UTF-8 text; a UTF-8 file with a few broken keys (the shipped
// example) only gets an info line, and a source with another encoding or of
// another type says nothing.
func TestWarnEncoding(t *testing.T) {
	csv := config.Source{Type: config.TypeCSV}
	tests := []struct {
		name    string
		src     config.Source
		invalid int64
		sawUTF8 bool
		want    string // "" for no line
	}{
		{"no invalid rows", csv, 0, false, ""},
		{"legacy file", csv, 12, false, `level=WARN msg="rows rejected as invalid_utf8: the file is probably not UTF-8" system=B rows=12 hint="set encoding: windows-1252`},
		{"json legacy file", config.Source{Type: config.TypeJSON}, 1, false, "probably not UTF-8"},
		{"UTF-8 file with a broken key", csv, 1, true, `level=INFO msg="rows rejected as invalid_utf8 in a file that is otherwise UTF-8" system=B rows=1`},
		{"decoded from windows-1252", config.Source{Type: config.TypeCSV, Encoding: "windows-1252"}, 3, false, ""},
		{"http source", config.Source{Type: config.TypeHTTP}, 3, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			warnEncoding(log, "B", tt.src, tt.invalid, tt.sawUTF8)
			got := buf.String()
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("logged %q, want a line with %q", got, tt.want)
			}
		})
	}
}

func TestHasUTF8Text(t *testing.T) {
	tests := []struct {
		texts []string
		want  bool
	}{
		{[]string{"INV-1", "invoice", "WH-1"}, false},
		{[]string{"INV-1", "invoice", "Lager München"}, true},
		{[]string{"Lager M\xfcnchen"}, false}, // windows-1252 ü: not UTF-8
		{[]string{"Lager M\xfcnchen", "Zürich"}, true},
		{[]string{""}, false},
	}
	for _, tt := range tests {
		if got := hasUTF8Text(tt.texts...); got != tt.want {
			t.Errorf("hasUTF8Text(%q) = %v, want %v", tt.texts, got, tt.want)
		}
	}
}
