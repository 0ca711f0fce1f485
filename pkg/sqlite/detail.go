package sqlite

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"modernc.org/sqlite"

	"github.com/keysync/keysync/pkg/keysync"
)

// A staged row keeps its descriptive fields — record, raw key, entity_type,
// location_ref, last_seen_at — packed into one text, its detail: they are
// read only for the few rows behind findings, and every text bound to an
// INSERT costs the driver an allocation and a copy, so one text a row loads
// about twice as fast as five.
//
// The format is "record:len(raw):len(entity):len(location):" followed by the
// four fields back to back (lengths in bytes; last_seen_at is the rest).
// SQL reads a field with keysync_detail(detail, 'name').

// appendDetail appends the packed detail of r to b.
func appendDetail(b []byte, r *keysync.Row) []byte {
	b = strconv.AppendInt(b, r.Record, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(len(r.RawKey)), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(len(r.EntityType)), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(len(r.LocationRef)), 10)
	b = append(b, ':')
	b = append(b, r.RawKey...)
	b = append(b, r.EntityType...)
	b = append(b, r.LocationRef...)
	return append(b, r.LastSeenAt...)
}

// bufString is the text of buf[start:end] without a copy: valid while buf is
// not written again.
func bufString(buf []byte, start, end int) string {
	if end <= start {
		return ""
	}
	return unsafe.String(&buf[start], end-start)
}

// detailFields are the names keysync_detail takes, in packed order.
var detailFields = map[string]int{"raw_key": 0, "entity_type": 1, "location_ref": 2, "last_seen_at": 3}

// detailField returns the named field of a packed detail: a string, or the
// record number as an int64.
func detailField(detail, name string) (any, error) {
	var head [4]int64
	rest := detail
	for i := range head {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return nil, fmt.Errorf("keysync_detail: malformed detail %q", detail)
		}
		n, err := strconv.ParseInt(rest[:j], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("keysync_detail: malformed detail %q", detail)
		}
		head[i], rest = n, rest[j+1:]
	}
	if name == "record" {
		return head[0], nil
	}
	field, ok := detailFields[name]
	if !ok {
		return nil, fmt.Errorf("keysync_detail: no field %q (want record, raw_key, entity_type, location_ref or last_seen_at)", name)
	}
	lens := head[1:] // raw_key, entity_type, location_ref; last_seen_at is the rest
	start := int64(0)
	for _, n := range lens[:field] {
		start += n
	}
	end := int64(len(rest))
	if field < len(lens) {
		end = start + lens[field]
	}
	if start < 0 || start > end || end > int64(len(rest)) {
		return nil, fmt.Errorf("keysync_detail: malformed detail %q", detail)
	}
	return rest[start:end], nil
}

func init() {
	// keysync_detail(detail, name) reads one field of a staged row's packed
	// detail; registered for every connection keysync opens. VolatileArgs:
	// the detail arrives as a view of SQLite's own bytes, with its length —
	// a copied argument would end at the first NUL a field may hold — and
	// the field returned is cloned out of it.
	err := sqlite.RegisterFunction("keysync_detail", &sqlite.FunctionImpl{
		NArgs:         2,
		Deterministic: true,
		VolatileArgs:  true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			detail, ok1 := args[0].(string)
			name, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("keysync_detail: want (text, text), got (%T, %T)", args[0], args[1])
			}
			v, err := detailField(detail, name)
			if s, ok := v.(string); ok {
				v = strings.Clone(s)
			}
			return v, err
		},
	})
	if err != nil {
		panic(fmt.Sprintf("register keysync_detail: %v", err))
	}
}
