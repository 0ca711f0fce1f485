package source

import (
	"fmt"
	"strings"
)

// Error is the failure of a whole source (SPEC §3): the file is missing or
// unreadable, has no header or no key column, breaks the CSV syntax, the
// sink refused a row, or the extraction was cancelled. Any of them fails the
// run. Row-level problems are never an Error; they are rejections.
type Error struct {
	System string // the configured source name
	Path   string // the file, as configured
	Line   int64  // physical line in the file, 0 when the failure has none
	Err    error  // the cause
}

// Error reads like `source "B": read input/B.csv line 17: <cause>`.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "source %q: read %s", e.System, e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unknown error")
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is(err, fs.ErrNotExist),
// errors.Is(err, context.Canceled) or errors.Is(err, csv.ErrQuote) work.
func (e *Error) Unwrap() error { return e.Err }
