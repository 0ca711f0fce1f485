package source

import (
	"fmt"
	"strings"
)

// Error is the failure of a whole source (SPEC §3): the file is missing or
// unreadable, has no header or no key column, breaks the CSV or JSON syntax,
// an HTTP request failed after its retries, the sink refused a row, or the
// extraction was cancelled. Any of them fails the run. Row-level problems
// are never an Error; they are rejections.
type Error struct {
	System string // the configured source name
	Path   string // the file as configured, or an HTTP page's URL without secrets
	Line   int64  // physical line in the file, 0 when the failure has none
	Page   int    // HTTP page from 1, 0 for files and databases
	Err    error  // the cause
}

// Error reads like `source "B": read input/B.csv line 17: <cause>` or
// `source "C": read https://api.example.com/items?page=3 page 3: <cause>`.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "source %q: read %s", e.System, e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Page > 0 {
		fmt.Fprintf(&b, " page %d", e.Page)
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
