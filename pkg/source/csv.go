package source

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CSV is a source read from CSV files (SPEC §3): RFC 4180, LF or CRLF, a
// header row naming the columns (or, with NoHeader, none: Columns then give
// positions). Input says how the file is found, decompressed and decoded;
// its zero value is one plain UTF-8 file with an optional BOM.
type CSV struct {
	System    string            // the configured source name, for errors (and Rules.System if that is empty)
	Path      string            // the file or glob, resolved against the config's directory
	Delimiter rune              // field separator; 0 means ','
	Columns   map[string]string // contract field -> header name (with NoHeader: 1-based position), replacing the field's own name

	// Key, when set, lists the headers (with NoHeader: positions) whose
	// values make a composite source_key, joined with KeySeparator (see
	// JoinKey). Columns must then not map source_key.
	Key          []string
	KeySeparator string

	// NoHeader says the file has no header row: every record is data, and
	// Columns and Key give 1-based column positions. Fields not in Columns
	// are absent.
	NoHeader bool

	Input
}

// checkEvery is how many records pass between two looks at ctx: often enough
// to stop within milliseconds, rarely enough to cost nothing.
const checkEvery = 4096

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Extract streams the file through rules into sink, one record at a time and
// in file order, and returns the count of data records and the fingerprint
// of the input (see combine for several files). Any failure of the source as
// a whole (see Error) stops the extraction and is returned as a *Error,
// naming the file it happened in; Stats are then zero.
//
// Header names are matched case-insensitively after trimming white space.
// A contract field named in Columns is read only from the mapped header; the
// mapped header must exist, even for an optional field, since a mapping that
// matches nothing is a configuration mistake. A header matching one field
// twice is ambiguous and fails the source. Columns the contract does not
// name are ignored. With Key set, source_key is the Key columns' values
// joined with KeySeparator (see JoinKey), each column found like a mapped one.
//
// With several files (Pick is PickAll), each has its own header, and record
// numbers run on from one file to the next.
//
// Blank lines (empty, or a lone CRLF) are not records and do not count, but
// they do count as lines, so Rejection.Line is the physical line of the file
// where the record starts. A line of only spaces is a record, as in RFC 4180.
func (c CSV) Extract(ctx context.Context, rules Rules, sink Sink) (Stats, error) {
	fail := func(err error) (Stats, error) {
		return Stats{}, &Error{System: c.System, Path: c.Path, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if rules.System == "" {
		rules.System = c.System
	}
	comma, err := c.delimiter()
	if err != nil {
		return fail(err)
	}
	if err := c.checkColumns(); err != nil {
		return fail(err)
	}
	var positions columns
	if c.NoHeader {
		if positions, err = c.positions(); err != nil {
			return fail(err)
		}
	}
	paths, err := c.files(c.Path)
	if err != nil {
		return fail(err)
	}
	var st Stats
	for _, path := range paths {
		f, err := c.extractFile(ctx, path, comma, positions, rules, sink, st.RowsRead, st.Bytes)
		if err != nil {
			return Stats{}, err
		}
		st.RowsRead += f.Records
		st.Bytes += f.Bytes // the stored bytes so far, for the progress of the next file
		st.Files = append(st.Files, f)
	}
	st.Fingerprint = combine(c.Path, st.Files)
	return st, nil
}

// extractFile reads one file of the source, numbering its records on from
// before; bytesBefore is the count of stored bytes of the files read before
// it. positions are the columns when the file has no header.
func (c CSV) extractFile(ctx context.Context, path string, comma rune, positions columns, rules Rules, sink Sink, before, bytesBefore int64) (InputFile, error) {
	fail := func(line int64, err error) (InputFile, error) {
		return InputFile{}, &Error{System: c.System, Path: path, Line: line, Err: err}
	}
	var progress func(int64)
	if bc, ok := sink.(ByteCounter); ok {
		progress = func(n int64) { bc.BytesRead(bytesBefore + n) }
	}
	tf, err := c.openText(path, progress)
	if err != nil {
		return fail(0, err)
	}
	defer tf.Close()
	br := tf.Text
	if b, err := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	} else if err != nil && err != io.EOF {
		return fail(0, withoutPath(err))
	}

	r := csv.NewReader(br) // reuses br: it is a *bufio.Reader of sufficient size
	r.Comma = comma
	r.FieldsPerRecord = -1 // field_count is a row-level rejection, not a failure
	r.ReuseRecord = true
	r.LazyQuotes = false

	col, width := positions, -1 // without a header, the first record sets the width
	if !c.NoHeader {
		header, err := r.Read()
		if err == io.EOF {
			return fail(0, errors.New("empty file: no header row"))
		}
		if err != nil {
			return fail(readError(err))
		}
		if col, err = locate(header, c.Columns, c.Key, headerNames); err != nil {
			line, _ := r.FieldPos(0) // blank lines may precede the header
			if hint := delimiterHint(header, comma); hint != "" {
				err = fmt.Errorf("%w; %s", err, hint)
			}
			return fail(int64(line), err)
		}
		width = len(header)
	}

	record := before
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(readError(err))
		}
		record++
		if record%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				line, _ := r.FieldPos(0)
				return fail(int64(line), err)
			}
		}
		if width < 0 {
			width = len(rec)
			if need := col.highest() + 1; width < need {
				line, _ := r.FieldPos(0)
				return fail(int64(line), fmt.Errorf("the first record has %d fields, but columns: names position %d", width, need))
			}
		}
		// No copies: encoding/csv converts each record to one fresh string
		// and slices the fields out of it; ReuseRecord only reuses the
		// []string. The Row's strings therefore stay valid, sharing the
		// record's memory.
		f := col.fields(rec, c.KeySeparator)
		f.FieldCountMismatch = len(rec) != width
		row, rej := rules.Check(record, f)
		if rej != nil {
			line, _ := r.FieldPos(0)
			rej.Line = int64(line)
		}
		err = deliver(sink, row, rej)
		if err != nil {
			line, _ := r.FieldPos(0)
			return fail(int64(line), fmt.Errorf("record %d: %w", record, err))
		}
	}
	// encoding/csv stops at EOF, but drain anyway so the fingerprint is of
	// the whole file whatever the reader left unread.
	fp, err := tf.finish()
	if err != nil {
		return fail(0, err)
	}
	return InputFile{Fingerprint: fp, FirstRecord: before + 1, Records: record - before}, nil
}

// positions turns the Columns and Key of a header-less file into columns.
func (c CSV) positions() (columns, error) {
	col := columns{-1, -1, -1, -1, -1, nil}
	pos := func(what, v string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return 0, fmt.Errorf("columns: %s is %q, not a column position (1, 2, …) as a file without a header needs", what, v)
		}
		return n - 1, nil
	}
	slots := []*int{&col.key, &col.system, &col.entityType, &col.locationRef, &col.lastSeenAt}
	for fi, field := range ContractFields {
		if v, ok := c.Columns[field]; ok {
			at, err := pos(field, v)
			if err != nil {
				return col, err
			}
			*slots[fi] = at
		}
	}
	for i, part := range c.Key {
		at, err := pos(fmt.Sprintf("part %d of source_key", i+1), part)
		if err != nil {
			return col, err
		}
		col.keyParts = append(col.keyParts, at)
	}
	if col.key < 0 && col.keyParts == nil {
		return col, errors.New("columns: a file without a header needs the position of source_key")
	}
	return col, nil
}

// delimiter validates Delimiter the way encoding/csv would, but up front and
// with a message that names the value.
func (c CSV) delimiter() (rune, error) {
	d := c.Delimiter
	if d == 0 {
		return ',', nil
	}
	if d == '"' || d == '\r' || d == '\n' || !utf8.ValidRune(d) || d == utf8.RuneError {
		return 0, fmt.Errorf("invalid delimiter %q", d)
	}
	return d, nil
}

// checkColumns rejects mappings of fields the contract does not have.
func (c CSV) checkColumns() error {
	return checkMapping("columns", c.Columns, c.Key)
}

// columns holds the position of each contract field among a source's column
// names (a CSV header, a query's result columns), -1 when absent. keyParts,
// when set, holds the positions of a composite key's parts instead of key.
type columns struct {
	key, system, entityType, locationRef, lastSeenAt int
	keyParts                                         []int
}

// highest returns the largest position among the columns, -1 for none.
func (col columns) highest() int {
	return max(col.key, col.system, col.entityType, col.locationRef, col.lastSeenAt, slices.Max(append([]int{-1}, col.keyParts...)))
}

// get returns field i of rec, or "" when the column is absent or the record
// is too short to have it.
func (columns) get(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}

// sourceKey returns the raw key of rec: its key column, or the composite
// key's parts joined with sep.
func (col columns) sourceKey(rec []string, sep string) string {
	if col.keyParts == nil {
		return col.get(rec, col.key)
	}
	parts := make([]string, len(col.keyParts))
	for i, p := range col.keyParts {
		parts[i] = col.get(rec, p)
	}
	return JoinKey(parts, sep)
}

// fields are the contract fields of rec, the composite key's parts joined
// with sep.
func (col columns) fields(rec []string, sep string) Fields {
	return Fields{
		SourceKey:    col.sourceKey(rec, sep),
		SourceSystem: col.get(rec, col.system),
		EntityType:   col.get(rec, col.entityType),
		LocationRef:  col.get(rec, col.locationRef),
		LastSeenAt:   col.get(rec, col.lastSeenAt),
	}
}

// delimiterHint names the delimiter a header seems to be separated by when
// it was read as one column with another delimiter: the usual cause of a
// missing source_key column in an export from another locale.
func delimiterHint(header []string, comma rune) string {
	if len(header) != 1 {
		return ""
	}
	for _, d := range []rune{';', '\t', '|', ','} {
		if d != comma && strings.ContainsRune(header[0], d) {
			return fmt.Sprintf("the header looks separated by %q: set delimiter: %q for this source", d, string(d))
		}
	}
	return ""
}

// names says what a list of column names is, for error messages.
type names struct {
	what  string // "header" or "query result"
	found string // "headers found" or "columns found"
}

var (
	headerNames = names{what: "header", found: "headers found"}
	resultNames = names{what: "query result", found: "columns found"}
)

// locate finds the contract fields among the column names, matched
// case-insensitively after trimming. A field mapped in mapping is looked for
// under the mapped name only, and must exist, even an optional one, since a
// mapping that matches nothing is a configuration mistake; so must every part
// of a composite key. A name matching one field twice is ambiguous.
func locate(header []string, mapping map[string]string, key []string, n names) (columns, error) {
	col := columns{-1, -1, -1, -1, -1, nil}
	find := func(field, want string) (int, error) {
		want = strings.TrimSpace(want)
		at := -1
		for i, h := range header {
			if !strings.EqualFold(strings.TrimSpace(h), want) {
				continue
			}
			if at >= 0 {
				return -1, fmt.Errorf("%s: columns %d and %d both match %s (%q); %s: %s",
					n.what, at+1, i+1, field, want, n.found, listHeaders(header))
			}
			at = i
		}
		return at, nil
	}
	slots := []*int{&col.key, &col.system, &col.entityType, &col.locationRef, &col.lastSeenAt}
	for fi, field := range ContractFields {
		if field == FieldSourceKey && len(key) > 0 {
			col.keyParts = make([]int, len(key))
			for i, part := range key {
				at, err := find(field, part)
				if err != nil {
					return col, err
				}
				if at < 0 {
					return col, fmt.Errorf("no column %q for part %d of the composite source_key; %s: %s",
						strings.TrimSpace(part), i+1, n.found, listHeaders(header))
				}
				col.keyParts[i] = at
			}
			continue
		}
		want, mapped := mapping[field]
		if !mapped {
			want = field
		}
		at, err := find(field, want)
		if err != nil {
			return col, err
		}
		*slots[fi] = at
		if at >= 0 {
			continue
		}
		want = strings.TrimSpace(want)
		switch {
		case field == FieldSourceKey && mapped:
			return col, fmt.Errorf("no %s column %q (from columns:); %s: %s", field, want, n.found, listHeaders(header))
		case field == FieldSourceKey:
			return col, fmt.Errorf("no %s column; %s: %s", field, n.found, listHeaders(header))
		case mapped:
			return col, fmt.Errorf("no column %q for %s (from columns:); %s: %s", want, field, n.found, listHeaders(header))
		}
	}
	return col, nil
}

// listHeaders quotes the header names for an error message, so blanks and
// stray spaces are visible.
func listHeaders(header []string) string {
	q := make([]string, len(header))
	for i, h := range header {
		q[i] = fmt.Sprintf("%q", ValidUTF8(h))
	}
	return strings.Join(q, ", ")
}

// readError turns an encoding/csv read error into a line and a cause. The
// line is where the broken record starts (an unclosed quote is only noticed
// at the end of the file); where the error was noticed follows in the cause.
func readError(err error) (int64, error) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return 0, withoutPath(err)
	}
	if pe.Line == pe.StartLine {
		return int64(pe.StartLine), fmt.Errorf("column %d: %w", pe.Column, pe.Err)
	}
	return int64(pe.StartLine), fmt.Errorf("record starting here breaks at line %d, column %d: %w", pe.Line, pe.Column, pe.Err)
}

// withoutPath drops the *fs.PathError around an I/O error: Error already
// names the file. The cause stays, so errors.Is(err, fs.ErrNotExist) holds.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// hashingReader hashes and counts the bytes read through it. The hash may
// span several readers (the pages of an HTTP source).
type hashingReader struct {
	r        io.Reader
	h        hash.Hash
	n        int64
	progress func(total int64) // told n after each read; may be nil
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
		if h.progress != nil {
			h.progress(h.n)
		}
	}
	return n, err
}
