package source_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// testNormalize stands in for pkg/normalize, which is built in parallel.
func testNormalize(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

var testRules = source.Rules{System: "B", Normalize: testNormalize}

func TestRulesCheck(t *testing.T) {
	tests := []struct {
		name   string
		fields source.Fields
		want   keysync.Row
		reason keysync.RejectReason // "" means accepted
		rawKey string               // of the rejection
	}{
		{
			name:   "accepted with every field",
			fields: source.Fields{SourceKey: " inv-1 ", SourceSystem: "B", EntityType: " Invoice", LocationRef: "wh/1 ", LastSeenAt: "2024-03-01T10:00:00+02:00"},
			want:   keysync.Row{Record: 7, Key: "INV-1", RawKey: " inv-1 ", EntityType: " Invoice", LocationRef: "wh/1 ", LastSeenAt: "2024-03-01T08:00:00Z"},
		},
		{
			name:   "accepted with only a key",
			fields: source.Fields{SourceKey: "k"},
			want:   keysync.Row{Record: 7, Key: "K", RawKey: "k"},
		},
		{
			name:   "system matches case-insensitively after trimming",
			fields: source.Fields{SourceKey: "k", SourceSystem: "  b "},
			want:   keysync.Row{Record: 7, Key: "K", RawKey: "k"},
		},
		{
			name:   "blank system and timestamp are absent",
			fields: source.Fields{SourceKey: "k", SourceSystem: "  ", LastSeenAt: " \t"},
			want:   keysync.Row{Record: 7, Key: "K", RawKey: "k"},
		},
		{
			name:   "invalid UTF-8 in other fields is replaced",
			fields: source.Fields{SourceKey: "k", EntityType: "a\xff\xfeb", LocationRef: "\xc3"},
			want:   keysync.Row{Record: 7, Key: "K", RawKey: "k", EntityType: "a\uFFFDb", LocationRef: "\uFFFD"},
		},
		{
			name:   "field_count",
			fields: source.Fields{SourceKey: "k", FieldCountMismatch: true},
			reason: keysync.RejectFieldCount, rawKey: "k",
		},
		{
			name:   "field_count before invalid_utf8",
			fields: source.Fields{SourceKey: "k\xff\xff", FieldCountMismatch: true},
			reason: keysync.RejectFieldCount, rawKey: "k\uFFFD",
		},
		{
			name:   "invalid_utf8",
			fields: source.Fields{SourceKey: "a\xffb\xc3\xa9\xe2\x82"},
			reason: keysync.RejectInvalidUTF8, rawKey: "a\uFFFDbé\uFFFD",
		},
		{
			name:   "invalid_utf8 before system_mismatch",
			fields: source.Fields{SourceKey: "\xff", SourceSystem: "C"},
			reason: keysync.RejectInvalidUTF8, rawKey: "\uFFFD",
		},
		{
			name:   "system_mismatch",
			fields: source.Fields{SourceKey: "k", SourceSystem: "C"},
			reason: keysync.RejectSystemMismatch, rawKey: "k",
		},
		{
			name:   "system_mismatch before bad_timestamp",
			fields: source.Fields{SourceKey: "k", SourceSystem: "C", LastSeenAt: "yesterday"},
			reason: keysync.RejectSystemMismatch, rawKey: "k",
		},
		{
			name:   "bad_timestamp",
			fields: source.Fields{SourceKey: "k", LastSeenAt: "2024-02-30"},
			reason: keysync.RejectBadTimestamp, rawKey: "k",
		},
		{
			name:   "bad_timestamp before empty_key",
			fields: source.Fields{SourceKey: "  ", LastSeenAt: "2024-13-01"},
			reason: keysync.RejectBadTimestamp, rawKey: "  ",
		},
		{
			name:   "empty_key",
			fields: source.Fields{SourceKey: " \t "},
			reason: keysync.RejectEmptyKey, rawKey: " \t ",
		},
		{
			name:   "empty_key with no key field",
			fields: source.Fields{},
			reason: keysync.RejectEmptyKey, rawKey: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, rej := testRules.Check(7, tt.fields)
			if tt.reason == "" {
				if rej != nil {
					t.Fatalf("rejected %+v, want accepted", *rej)
				}
				if got, want := row, tt.want; got != want {
					t.Errorf("row = %+v, want %+v", got, want)
				}
				return
			}
			if rej == nil {
				t.Fatalf("accepted %+v, want %s", row, tt.reason)
			}
			if got, want := *rej, (keysync.Rejection{Record: 7, RawKey: tt.rawKey, Reason: tt.reason}); got != want {
				t.Errorf("rejection = %+v, want %+v", got, want)
			}
		})
	}
}

func TestRulesCheckNilNormalize(t *testing.T) {
	row, rej := source.Rules{System: "A"}.Check(1, source.Fields{SourceKey: " k "})
	if rej != nil {
		t.Fatalf("rejected %+v", *rej)
	}
	if got, want := row.Key, " k "; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 UTC; "" means an error
	}{
		{"2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"},
		{"2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z"},
		{"2024-03-01T01:00:00-05:30", "2024-03-01T06:30:00Z"},
		{"2024-03-01T10:00:00.123456789Z", "2024-03-01T10:00:00.123456789Z"},
		{"2024-03-01t10:00:00z", "2024-03-01T10:00:00Z"}, // RFC 3339 §5.6 allows lower-case t and z
		{"2024-03-01t10:00:00+01:00", "2024-03-01T09:00:00Z"},
		{"2024-03-01T10:00:00.5+01:00", "2024-03-01T09:00:00.5Z"},
		{"2024-03-01 10:00:00", "2024-03-01T10:00:00Z"},
		{"2024-02-29", "2024-02-29T00:00:00Z"},
		{" 2024-01-01 ", "2024-01-01T00:00:00Z"},
		{"\t2024-01-01 23:59:59\n", "2024-01-01T23:59:59Z"},
		{"2024-02-30", ""},
		{"2023-02-29", ""},
		{"2024-13-01", ""},
		{"2024-01-01 25:00:00", ""},
		{"2024-01-01 10:60:00", ""},
		{"2024-01-01 1:00:00", ""},
		{"2024-01-01 10:00:00.5", ""},
		{"2024-01-01T10:00:00", ""}, // RFC 3339 needs an offset
		{"2024-01-01T10:00:00+25:00", ""},
		{"2024-1-1", ""},
		{"01/02/2024", ""},
		{"2024-01-01Z", ""},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ts, err := source.ParseTimestamp(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseTimestamp(%q) = %v, want an error", tt.in, ts)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTimestamp(%q): %v", tt.in, err)
			}
			if got := ts.UTC().Format(time.RFC3339Nano); got != tt.want {
				t.Errorf("ParseTimestamp(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzCanonicalUTC: the fast path agrees with the full parser on every input
// it takes, and takes the two common forms whenever they are valid.
func FuzzCanonicalUTC(f *testing.F) {
	for _, s := range []string{"2024-05-04T12:36:34Z", "2024-05-04 12:36:34", "2024-02-29 00:00:00",
		"2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-04-31 10:00:00", "0000-01-01T00:00:00Z",
		"2024-05-04T24:00:00Z", "2024-05-04T12:60:00Z", "2024-05-04T12:00:60Z", "2024-05-04t12:36:34z",
		"2024-05-04T12:36:34+02:00", "2024-05-04T12:36:34.5Z", "2024-05-04", "２０２４-05-04T12:36:34Z",
		"2024-05-04T12:3a:34Z", "+024-05-04T12:36:34Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := source.CanonicalUTC(s)
		parsed, err := source.ParseTimestamp(s)
		switch {
		case ok && err != nil:
			t.Fatalf("CanonicalUTC(%q) = %q, but ParseTimestamp refuses it: %v", s, fast, err)
		case ok && fast != parsed.UTC().Format(time.RFC3339Nano):
			t.Fatalf("CanonicalUTC(%q) = %q, ParseTimestamp+Format = %q", s, fast, parsed.UTC().Format(time.RFC3339Nano))
		case !ok && err == nil && (len(s) == 19 && s[10] == ' ' || len(s) == 20 && s[10] == 'T' && s[19] == 'Z'):
			t.Fatalf("CanonicalUTC(%q) left a valid common form to the slow path", s)
		}
	})
}
