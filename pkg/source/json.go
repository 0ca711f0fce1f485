package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON is a source read from JSON files: an array of item objects, a
// document holding that array at the dotted path Items, or newline-delimited
// JSON (one object per line; any white space between the objects will do).
// Input says how the file is found, decompressed and decoded; with several
// files (PickAll) each is one document, and record numbers run on.
//
// The file is decoded token by token and item by item, so memory stays
// bounded by the largest item, never the whole file.
type JSON struct {
	System string            // the configured source name
	Path   string            // the file, resolved against the config's directory
	Items  string            // dotted path to the array of items; "" is the document itself (or NDJSON)
	Fields map[string]string // contract field -> dotted path in an item; unmapped fields use their own name

	// Key, when set, lists the dotted paths whose values make a composite
	// source_key, joined with KeySeparator (see JoinKey).
	Key          []string
	KeySeparator string

	Input
}

// Extract streams the items through rules into sink, in file order; the
// record number of an item is its position in the stream, from 1. A field
// whose path is missing from an item, or null, is "". Strings are read as
// written (invalid UTF-8 included, so the row rules can reject such a key);
// numbers, true and false as their JSON text; objects and arrays as their
// compact JSON text.
//
// The source fails on a syntax error (the message names the item, or the
// byte offset outside items), an item that is not an object, an Items path
// the document does not have, or an empty file. A null at the Items path is
// no items.
func (j JSON) Extract(ctx context.Context, rules Rules, sink Sink) (Stats, error) {
	fail := func(err error) (Stats, error) {
		return Stats{}, &Error{System: j.System, Path: j.Path, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if rules.System == "" {
		rules.System = j.System
	}
	fields, err := compileFields(j.Fields, j.Key, j.KeySeparator)
	if err != nil {
		return fail(err)
	}
	items, err := splitPath("items", j.Items)
	if err != nil {
		return fail(err)
	}
	paths, err := j.files(j.Path)
	if err != nil {
		return fail(err)
	}
	s := &jsonStream{ctx: ctx, items: items, fields: fields, rules: rules, sink: sink}
	var st Stats
	for _, path := range paths {
		f, err := j.extractFile(path, s, sink, st.Bytes)
		if err != nil {
			return Stats{}, &Error{System: j.System, Path: path, Err: err}
		}
		st.Bytes += f.Bytes // the stored bytes so far, for the progress of the next file
		st.Files = append(st.Files, f)
	}
	st.RowsRead = s.n
	st.Fingerprint = combine(j.Path, st.Files)
	return st, nil
}

// extractFile reads one file of the source as one document (or NDJSON
// stream) through s, whose item count runs on from file to file. before is
// the count of stored bytes of the files read before it.
func (j JSON) extractFile(path string, s *jsonStream, sink Sink, before int64) (InputFile, error) {
	var progress func(int64)
	if bc, ok := sink.(ByteCounter); ok {
		progress = func(n int64) { bc.BytesRead(before + n) }
	}
	tf, err := j.openText(path, progress)
	if err != nil {
		return InputFile{}, err
	}
	defer tf.Close()
	first := s.n + 1
	if err := s.read(tf.Text); err != nil {
		return InputFile{}, err
	}
	fp, err := tf.finish()
	if err != nil {
		return InputFile{}, err
	}
	return InputFile{Fingerprint: fp, FirstRecord: first, Records: s.n - first + 1}, nil
}

// jsonStream decodes JSON documents (a file, or one HTTP page each) into
// rows. It keeps counting items across documents, so record numbers run on
// from page to page.
type jsonStream struct {
	ctx    context.Context
	items  []string // path to the items array; nil: the document is the array, or NDJSON
	next   []string // path to the next page's URL; nil: none
	fields itemFields
	rules  Rules
	sink   Sink

	n int64 // items read so far, over every document

	// Of the last document read:
	found    bool   // the items path was there
	nextURL  string // the string at next, "" when absent or null
	docItems int64  // items in it
	base     int64  // bytes skipped before the decoder's input (BOM, white space)
}

// read decodes one document from r, sending its items to the sink.
func (s *jsonStream) read(r *bufio.Reader) error {
	s.found, s.nextURL, s.docItems, s.base = false, "", 0, 0
	if b, err := r.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		_, _ = r.Discard(len(utf8BOM))
		s.base += int64(len(utf8BOM))
	} else if err != nil && err != io.EOF {
		return withoutPath(err)
	}
	c, err := s.firstByte(r)
	if err == io.EOF {
		return errors.New("empty: no JSON value")
	}
	if err != nil {
		return withoutPath(err)
	}
	dec := json.NewDecoder(r)
	if len(s.items) > 0 {
		if err := s.value(dec, nil); err != nil {
			return s.syntax(dec, err)
		}
		if err := s.end(dec); err != nil {
			return err
		}
		if !s.found {
			return fmt.Errorf("no items at %q: the document has no such path", strings.Join(s.items, "."))
		}
		return nil
	}
	switch c {
	case '[':
		if err := s.stream(dec); err != nil {
			return s.syntax(dec, err)
		}
	case '{':
		for dec.More() {
			if err := s.item(dec); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("want an array of items or one object per line, found %s", kindOfByte(c))
	}
	return s.end(dec)
}

// firstByte returns the first byte that is not JSON white space, leaving it
// unread; the white space before it is consumed and counted in base.
func (s *jsonStream) firstByte(r *bufio.Reader) (byte, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, r.UnreadByte()
		}
		s.base++
	}
}

// end checks that nothing but white space follows the document.
func (s *jsonStream) end(dec *json.Decoder) error {
	switch _, err := dec.Token(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return s.syntax(dec, err)
	}
	return fmt.Errorf("invalid JSON at byte %d: data after the end of the document", s.base+dec.InputOffset())
}

// syntax gives a decoding error outside an item its byte offset. Errors
// already worded (an item's, a missing path's) pass through, so only the
// decoder's own errors are looked at, not what they wrap.
func (s *jsonStream) syntax(dec *json.Decoder, err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Errorf("invalid JSON at byte %d: %w", s.base+e.Offset, err)
	}
	switch {
	case err == io.EOF, err == io.ErrUnexpectedEOF: // io.EOF: the input ended inside the document
		return fmt.Errorf("invalid JSON at byte %d: unexpected end of input: %w", s.base+dec.InputOffset(), err)
	}
	return err
}

// value reads the value at path, the dotted path of where the decoder is.
// It streams the items array, captures the next link, descends towards
// either, and skips everything else token by token.
func (s *jsonStream) value(dec *json.Decoder, path []string) error {
	switch {
	case equalPath(path, s.items):
		return s.stream(dec)
	case s.next != nil && equalPath(path, s.next):
		return s.captureNext(dec)
	case !hasPrefix(s.items, path) && !(s.next != nil && hasPrefix(s.next, path)):
		return skipValue(dec)
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar where a path goes on: the path is not there
	}
	switch d {
	case '{':
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if err := s.value(dec, append(path, key)); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := s.value(dec, append(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// stream reads the items array, item by item. null is an empty array.
func (s *jsonStream) stream(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	s.found = true
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		where := "the document"
		if len(s.items) > 0 {
			where = fmt.Sprintf("items path %q", strings.Join(s.items, "."))
		}
		return fmt.Errorf("%s holds %s, not an array of items", where, kindOfToken(tok))
	}
	for dec.More() {
		if err := s.item(dec); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ']'
	return err
}

// item decodes the next item and sends it through the rules to the sink.
func (s *jsonStream) item(dec *json.Decoder) error {
	s.n++
	s.docItems++
	if s.n%checkEvery == 0 {
		if err := s.ctx.Err(); err != nil {
			return fmt.Errorf("item %d: %w", s.n, err)
		}
	}
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("item %d: invalid JSON at byte %d: %w", s.n, s.base+se.Offset, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("item %d: invalid JSON: unexpected end of input: %w", s.n, err)
		}
		return fmt.Errorf("item %d: %w", s.n, withoutPath(err))
	}
	f, err := s.fields.extract(raw)
	if err != nil {
		return fmt.Errorf("item %d: %w", s.n, err)
	}
	row, rej := s.rules.Check(s.n, f)
	if err := deliver(s.sink, row, rej); err != nil {
		return fmt.Errorf("item %d: %w", s.n, err)
	}
	return nil
}

// captureNext reads the value at the next path: a URL string, or null.
func (s *jsonStream) captureNext(dec *json.Decoder) error {
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		s.nextURL = ""
	case string:
		s.nextURL = strings.TrimSpace(v)
	default:
		return fmt.Errorf("next page at %q holds %s, not a URL", strings.Join(s.next, "."), kindOfToken(v))
	}
	return nil
}

// skipValue reads past one value, token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

func equalPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hasPrefix reports whether prefix is a proper or equal prefix of path.
func hasPrefix(path, prefix []string) bool {
	return len(prefix) <= len(path) && equalPath(path[:len(prefix)], prefix)
}

// splitPath splits a dotted path. "" is the empty path (the value itself);
// an empty segment ("a..b", ".a") is an error. JSON keys are matched exactly,
// so a key holding a dot cannot be named; an all-digit segment also indexes
// an array, from 0.
func splitPath(option, p string) ([]string, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil, nil
	}
	segs := strings.Split(p, ".")
	for _, seg := range segs {
		if seg == "" {
			return nil, fmt.Errorf("%s: empty segment in path %q", option, p)
		}
	}
	return segs, nil
}

// itemFields finds the contract fields in an item.
type itemFields struct {
	paths [5][]string // in ContractFields order
	key   [][]string  // a composite key's parts, or nil
	sep   string
}

func compileFields(mapping map[string]string, key []string, sep string) (itemFields, error) {
	var f itemFields
	if err := checkMapping("fields", mapping, key); err != nil {
		return f, err
	}
	for i, field := range ContractFields {
		p, ok := mapping[field]
		if !ok {
			p = field
		}
		segs, err := splitPath("fields: "+field, p)
		if err != nil {
			return f, err
		}
		f.paths[i] = segs
	}
	for _, k := range key {
		segs, err := splitPath("fields: source_key", k)
		if err != nil {
			return f, err
		}
		f.key = append(f.key, segs)
	}
	f.sep = sep
	return f, nil
}

// extract reads the contract fields of one item.
func (f itemFields) extract(raw json.RawMessage) (Fields, error) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || raw[0] != '{' {
		var c byte
		if len(raw) > 0 {
			c = raw[0]
		}
		return Fields{}, fmt.Errorf("is %s, not an object", kindOfByte(c))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return Fields{}, err
	}
	get := func(path []string) string {
		if len(path) == 0 {
			return ""
		}
		v, ok := obj[path[0]]
		for _, seg := range path[1:] {
			if !ok {
				break
			}
			v, ok = child(v, seg)
		}
		if !ok {
			return ""
		}
		return jsonText(v)
	}
	var out Fields
	if f.key != nil {
		parts := make([]string, len(f.key))
		for i, p := range f.key {
			parts[i] = get(p)
		}
		out.SourceKey = JoinKey(parts, f.sep)
	} else {
		out.SourceKey = get(f.paths[0])
	}
	out.SourceSystem = get(f.paths[1])
	out.EntityType = get(f.paths[2])
	out.LocationRef = get(f.paths[3])
	out.LastSeenAt = get(f.paths[4])
	return out, nil
}

// child returns the member seg of an object, or the element seg of an array.
func child(v json.RawMessage, seg string) (json.RawMessage, bool) {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return nil, false
	}
	switch v[0] {
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil {
			return nil, false
		}
		c, ok := obj[seg]
		return c, ok
	case '[':
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 {
			return nil, false
		}
		var arr []json.RawMessage
		if json.Unmarshal(v, &arr) != nil || i >= len(arr) {
			return nil, false
		}
		return arr[i], true
	}
	return nil, false
}

// jsonText is the text of a value: a string unquoted (invalid UTF-8 kept),
// null as "", anything else as its compact JSON text.
func jsonText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		return unquoteJSON(v)
	case 'n':
		return ""
	case '{', '[':
		var b bytes.Buffer
		if json.Compact(&b, v) != nil {
			return string(v)
		}
		return b.String()
	}
	return string(v) // a number, true or false, as written
}

// unquoteJSON unquotes a JSON string literal that the decoder has already
// validated. Unlike encoding/json it keeps invalid UTF-8 bytes as they are,
// so that the row rules see them (and reject the key as invalid_utf8, as
// they would in a CSV file). A lone surrogate escape becomes U+FFFD, as in
// encoding/json.
func unquoteJSON(q []byte) string {
	if len(q) < 2 {
		return ""
	}
	q = q[1 : len(q)-1]
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q)
	}
	b := make([]byte, 0, len(q))
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c != '\\' || i+1 >= len(q) {
			b = append(b, c)
			continue
		}
		i++
		switch q[i] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(q[i+1:])
			if !ok {
				b = append(b, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+6 < len(q) && q[i+1] == '\\' && q[i+2] == 'u' {
					r2, ok = hex4(q[i+3:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default: // '"', '\\', '/'
			b = append(b, q[i])
		}
	}
	return string(b)
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func kindOfByte(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	case c == 0:
		return "nothing"
	}
	return fmt.Sprintf("%q, which is not JSON", rune(c))
}

func kindOfToken(tok any) string {
	switch t := tok.(type) {
	case json.Delim:
		return kindOfByte(byte(t))
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", tok)
}
