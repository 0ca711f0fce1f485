package source

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keysync/keysync/pkg/keysync"
)

// Contract field names (SPEC §3). A source maps its own columns onto these.
const (
	FieldSourceKey    = "source_key"
	FieldSourceSystem = "source_system"
	FieldEntityType   = "entity_type"
	FieldLocationRef  = "location_ref"
	FieldLastSeenAt   = "last_seen_at"
)

// ContractFields lists the contract field names in their canonical order.
var ContractFields = []string{FieldSourceKey, FieldSourceSystem, FieldEntityType, FieldLocationRef, FieldLastSeenAt}

// Fields are the raw values of one input record, as the source read them.
// A field the source does not have (no such column, or a short record) is "".
type Fields struct {
	SourceKey    string
	SourceSystem string
	EntityType   string
	LocationRef  string
	LastSeenAt   string

	// FieldCountMismatch is set by sources with a fixed field count (CSV) when
	// the record has a different number of fields than the header. It is the
	// first rule checked, so the zero value suits sources without the notion.
	FieldCountMismatch bool
}

// Rules are the row-level rules of SPEC §3 that every source type applies:
// the rejection reasons, checked in their fixed order, and how an accepted
// row is built.
type Rules struct {
	// System is the configured source name, compared with source_system.
	System string
	// Normalize turns a raw key into its normalized form (SPEC §4). It is
	// only called on valid UTF-8. Nil keeps the key as read.
	Normalize func(raw string) string
}

// Check applies the rules to one record. It returns the accepted row, or
// the rejection with the first reason that applies, in this order:
// field_count, invalid_utf8, system_mismatch, bad_timestamp, empty_key.
// The rejection's Line is left 0 for the source to fill in.
//
// EntityType and LocationRef are kept as read, untrimmed, with invalid UTF-8
// replaced by U+FFFD: they are shown to reviewers, not compared. RawKey is
// also kept as read; only Key is normalized.
func (r Rules) Check(record int64, f Fields) (keysync.Row, *keysync.Rejection) {
	reject := func(reason keysync.RejectReason) (keysync.Row, *keysync.Rejection) {
		return keysync.Row{}, &keysync.Rejection{
			Record: record,
			RawKey: ValidUTF8(f.SourceKey),
			Reason: reason,
		}
	}
	if f.FieldCountMismatch {
		return reject(keysync.RejectFieldCount)
	}
	if !utf8.ValidString(f.SourceKey) {
		return reject(keysync.RejectInvalidUTF8)
	}
	if sys := strings.TrimSpace(f.SourceSystem); sys != "" && !strings.EqualFold(sys, r.System) {
		return reject(keysync.RejectSystemMismatch)
	}
	var lastSeen string
	if ts := strings.TrimSpace(f.LastSeenAt); ts != "" {
		var ok bool
		if lastSeen, ok = canonicalUTC(ts); !ok {
			t, err := ParseTimestamp(ts)
			if err != nil {
				return reject(keysync.RejectBadTimestamp)
			}
			lastSeen = t.UTC().Format(time.RFC3339Nano)
		}
	}
	key := f.SourceKey
	if r.Normalize != nil {
		key = r.Normalize(key)
	}
	if key == "" {
		return reject(keysync.RejectEmptyKey)
	}
	return keysync.Row{
		Record:      record,
		Key:         key,
		RawKey:      f.SourceKey,
		EntityType:  ValidUTF8(f.EntityType),
		LocationRef: ValidUTF8(f.LocationRef),
		LastSeenAt:  lastSeen,
	}, nil
}

// canonicalUTC is the fast path of the two forms exports write most,
// "2024-05-04T12:36:34Z" and "2024-05-04 12:36:34": a valid one comes back
// as ParseTimestamp then Format(time.RFC3339Nano) would give it, without
// either (they were a fifth of reading a CSV row). ok is false for anything
// else, valid or not, which takes the full parser.
func canonicalUTC(s string) (canonical string, ok bool) {
	switch {
	case len(s) == 20 && s[10] == 'T' && s[19] == 'Z':
		if validDateTime(s) {
			return s, true
		}
	case len(s) == 19 && s[10] == ' ':
		if validDateTime(s) {
			return s[:10] + "T" + s[11:] + "Z", true
		}
	}
	return "", false
}

// validDateTime checks the "YYYY-MM-DD?HH:MM:SS" at the start of s: digits
// where digits belong, a date that exists, a time of day.
func validDateTime(s string) bool {
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	if s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return false
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return false
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	// The last day of month: day 0 of the next month.
	return day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// ValidUTF8 replaces each maximal run of invalid UTF-8 bytes in s with one
// U+FFFD, as strings.ToValidUTF8 does. Valid input is returned without copying.
func ValidUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Layouts of the non-RFC 3339 timestamps SPEC §3 accepts; both read as UTC.
const (
	layoutDateTime = "2006-01-02 15:04:05"
	layoutDate     = "2006-01-02"
)

// ParseTimestamp reads a last_seen_at value (surrounding white space
// ignored): RFC 3339 (any offset, optional fractional seconds), or
// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`, both taken as UTC. Calendar
// validity is checked, so 2024-02-30 and 25:00:00 are errors.
//
// The two plain layouts are matched exactly (fixed length): time.Parse alone
// would also accept a one-digit hour or trailing fractional seconds, which
// the contract does not list.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var (
		t   time.Time
		err error
	)
	switch {
	case len(s) == len(layoutDate):
		t, err = time.Parse(layoutDate, s)
	case len(s) == len(layoutDateTime) && s[10] == ' ':
		t, err = time.Parse(layoutDateTime, s)
	default:
		// UnmarshalText is the strict RFC 3339 parser (time.Parse with
		// time.RFC3339 tolerates a few non-RFC forms). RFC 3339 §5.6 allows
		// a lower-case t and z, which Go's parser does not.
		err = t.UnmarshalText([]byte(strings.ToUpper(s)))
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: not an RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD time", s)
	}
	return t, nil
}
