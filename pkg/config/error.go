package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is the one type of every configuration error, so the command line can
// tell a configuration problem (exit code 2) from a failed run with errors.As.
//
// Field is the offending key as a dotted path ("sources.B.delimiter"), a flag
// ("--db") for an override, or empty when the problem is the file as a whole.
// Value is the offending value as written (empty when there is none to show).
// Line is the line in the file where YAML places the problem, 0 when unknown.
type Error struct {
	File  string // the config file as given to Load; empty for Parse
	Line  int
	Field string
	Value string
	Msg   string
	Err   error // the underlying error, if any
}

// Error reads like
//
//	config keysync-config.yaml: authority: "Z" does not name a source (sources: A, B, C)
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.File != "" {
		b.WriteString(" ")
		b.WriteString(e.File)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Value != "" {
		b.WriteString(strconv.Quote(e.Value))
		if e.Msg != "" {
			b.WriteString(" ")
		}
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" || e.Value != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Unwrap returns the underlying error, so errors.Is(err, fs.ErrNotExist) works
// for a missing file.
func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error for field with value and a formatted message.
func errorf(field, value, format string, args ...any) *Error {
	return &Error{Field: field, Value: value, Msg: fmt.Sprintf(format, args...)}
}
