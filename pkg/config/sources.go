package config

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/keysync/keysync/pkg/source"
)

// Source types: the values of sources.<name>.type.
const (
	TypeCSV      = "csv"
	TypeJSON     = "json"
	TypeHTTP     = "http"
	TypeSQLite   = "sqlite"
	TypePostgres = "postgres"
	TypeMySQL    = "mysql" // MySQL and MariaDB
)

// Choices of a glob path's matches: the values of sources.<name>.pick.
const (
	PickLast   = "last"   // the lexicographically last name (the default)
	PickNewest = "newest" // the latest modification time
	PickAll    = "all"    // every match, in name order, read as one source
)

var picks = []string{PickLast, PickNewest, PickAll}

// Pagination styles of an http source: the values of sources.<name>.pagination.
const (
	PaginateNext   = "next"   // the URL at the dotted path `next` of each page
	PaginateLink   = "link"   // the Link header's rel="next"
	PaginatePage   = "page"   // a page-number query parameter, until an empty page
	PaginateOffset = "offset" // an item-offset query parameter, until an empty page
)

// Defaults and limits of an http source's options.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultMaxPages = 10000
	DefaultRetries  = 3
	DefaultBackoff  = time.Second
	MaxRetries      = 20

	// DefaultQueryTimeout bounds a postgres or mysql source's whole query.
	DefaultQueryTimeout = 10 * time.Minute
)

// sourceOptions lists the keys each source type takes, in the order an
// error shows them. A key of another type is refused, so a json source
// given `columns:` (a CSV option) fails loudly instead of being ignored.
var sourceOptions = map[string][]string{
	TypeCSV:      {"type", "path", "pick", "encoding", "member", "delimiter", "header", "columns", "filter"},
	TypeJSON:     {"type", "path", "pick", "encoding", "member", "items", "fields", "filter"},
	TypeHTTP:     {"type", "url", "headers", "items", "fields", "pagination", "next", "page_param", "page_start", "timeout", "max_pages", "retries", "backoff", "filter"},
	TypeSQLite:   {"type", "path", "query", "columns", "filter"},
	TypePostgres: {"type", "dsn", "query", "columns", "timeout", "retries", "backoff", "filter"},
	TypeMySQL:    {"type", "dsn", "query", "columns", "timeout", "retries", "backoff", "filter"},
}

var sourceTypes = []string{TypeCSV, TypeJSON, TypeHTTP, TypeSQLite, TypePostgres, TypeMySQL}

// Headers are an http source's request headers as written in the file:
// ${NAME} references stay unexpanded until the source is read, so a Config
// never holds a secret taken from the environment. Printed (fmt, slog),
// Headers show their names only, so that a header written with a literal
// credential does not end up in a log either.
type Headers map[string]string

// String shows the header names with their values redacted.
func (h Headers) String() string {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ":REDACTED"
	}
	return "map[" + strings.Join(parts, " ") + "]"
}

// GoString keeps %#v from printing the values.
func (h Headers) GoString() string { return "config.Headers" + h.String() }

// LogValue keeps slog from printing the values.
func (h Headers) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(h))
	for k := range h {
		attrs = append(attrs, slog.String(k, "REDACTED"))
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].Key < attrs[j].Key })
	return slog.GroupValue(attrs...)
}

// sourceConfig applies the defaults to one raw source and resolves its path
// against dir. Besides what a Source cannot represent, it refuses options
// that do not apply to the source's type, since only here is it known which
// options the file gave.
func sourceConfig(dir, name string, rs *rawSource) (Source, error) {
	key := "sources." + name
	s := Source{Name: name, Type: DefaultSourceType}
	if rs == nil {
		s.Delimiter = DefaultDelimiter
		return s, nil
	}
	setIf(&s.Type, rs.Type)
	if opts, ok := sourceOptions[s.Type]; ok {
		for _, given := range givenOptions(rs) {
			if !slices.Contains(opts, given) {
				return s, errorf(key+"."+given, "", "does not apply to a %s source (its options: %s)",
					s.Type, strings.Join(opts, ", "))
			}
		}
	}
	if s.Type == TypeCSV {
		s.Delimiter = DefaultDelimiter
	}
	if rs.Path != nil && *rs.Path != "" {
		p, err := expandPath(key+".path", *rs.Path)
		if err != nil {
			return s, err
		}
		s.Path = resolve(dir, p)
	}
	if rs.Delimiter != nil {
		d := *rs.Delimiter
		if utf8.RuneCountInString(d) != 1 {
			return s, errorf(key+".delimiter", d, "must be exactly one character")
		}
		s.Delimiter, _ = utf8.DecodeRuneInString(d)
	}
	var err error
	if len(rs.Columns) > 0 {
		if s.Columns, s.Key, err = fieldRefs(key+".columns", rs.Columns); err != nil {
			return s, err
		}
	}
	if len(rs.Fields) > 0 {
		if s.Fields, s.Key, err = fieldRefs(key+".fields", rs.Fields); err != nil {
			return s, err
		}
	}
	setIf(&s.Query, rs.Query)
	if rs.Encoding != nil {
		s.Encoding = strings.ToLower(strings.TrimSpace(*rs.Encoding))
	}
	setIf(&s.Member, rs.Member)
	if rs.Pick != nil {
		s.Pick = strings.TrimSpace(*rs.Pick)
	}
	if rs.Header != nil {
		s.NoHeader = !*rs.Header
	}
	if rs.Filter != nil {
		s.Filter = strings.TrimSpace(*rs.Filter)
		if s.Filter == "" {
			return s, errorf(key+".filter", *rs.Filter, "must be an SQLite expression over %s", strings.Join(source.FilterFields, ", "))
		}
	}
	if rs.DSN != nil {
		s.DSN = strings.TrimSpace(*rs.DSN)
	}
	if rs.URL != nil {
		s.URL = strings.TrimSpace(*rs.URL)
	}
	if len(rs.Headers) > 0 {
		s.Headers = make(Headers, len(rs.Headers))
		for k, v := range rs.Headers {
			s.Headers[k] = v
		}
	}
	if rs.Items != nil {
		s.Items = strings.TrimSpace(*rs.Items)
	}
	if rs.Next != nil {
		s.Next = strings.TrimSpace(*rs.Next)
	}
	switch s.Type {
	case TypePostgres, TypeMySQL:
		s.Timeout, s.Retries, s.Backoff = DefaultQueryTimeout, DefaultRetries, DefaultBackoff
		setIf(&s.Retries, rs.Retries)
		return s, parseDurations(key, rs, &s)
	case TypeHTTP:
	default:
		return s, nil
	}

	// http: pagination and its options, then the request options.
	switch {
	case rs.Pagination != nil:
		s.Pagination = *rs.Pagination
	case rs.Next != nil:
		s.Pagination = PaginateNext
	}
	if rs.Next != nil && s.Pagination != PaginateNext {
		return s, errorf(key+".next", s.Next, "applies only to pagination: %s", PaginateNext)
	}
	paged := s.Pagination == PaginatePage || s.Pagination == PaginateOffset
	if !paged {
		for _, o := range []struct {
			key   string
			given bool
		}{{"page_param", rs.PageParam != nil}, {"page_start", rs.PageStart != nil}} {
			if o.given {
				return s, errorf(key+"."+o.key, "", "applies only to pagination: %s or %s", PaginatePage, PaginateOffset)
			}
		}
	}
	if paged {
		s.PageParam = s.Pagination
		setIf(&s.PageParam, rs.PageParam)
		if s.Pagination == PaginatePage {
			s.PageStart = 1
		}
		setIf(&s.PageStart, rs.PageStart)
	}
	s.Timeout, s.Backoff = DefaultTimeout, DefaultBackoff
	s.MaxPages, s.Retries = DefaultMaxPages, DefaultRetries
	setIf(&s.MaxPages, rs.MaxPages)
	setIf(&s.Retries, rs.Retries)
	return s, parseDurations(key, rs, &s)
}

// parseDurations sets s.Timeout and s.Backoff from the file, when given.
func parseDurations(key string, rs *rawSource, s *Source) error {
	for _, d := range []struct {
		key string
		raw *string
		dst *time.Duration
	}{{"timeout", rs.Timeout, &s.Timeout}, {"backoff", rs.Backoff, &s.Backoff}} {
		if d.raw == nil {
			continue
		}
		v, err := time.ParseDuration(strings.TrimSpace(*d.raw))
		if err != nil {
			return errorf(key+"."+d.key, *d.raw, "is not a duration (like 500ms, 30s or 2m)")
		}
		*d.dst = v
	}
	return nil
}

// givenOptions lists the yaml names of the options rs has (non-null).
func givenOptions(rs *rawSource) []string {
	v := reflect.ValueOf(rs).Elem()
	var given []string
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); !f.IsNil() {
			given = append(given, yamlName(v.Type().Field(i)))
		}
	}
	return given
}

// fieldRefs splits a columns: or fields: mapping into the single names and
// the list of a composite source_key (nil if none). A one-name list is a
// single name.
func fieldRefs(field string, m map[string]rawFieldRef) (map[string]string, []string, error) {
	single := make(map[string]string, len(m))
	var key []string
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ref := m[k]
		switch {
		case !ref.List:
			single[k] = strings.Join(ref.Names, "") // null reads as ""
		case k != "source_key" && isContractField(k):
			return nil, nil, errorf(field+"."+k, "", "only source_key may list several names (a composite key)")
		case k != "source_key":
			return nil, nil, errorf(field+"."+k, "", "is not a field of the data contract (%s)", strings.Join(contractFields, ", "))
		case len(ref.Names) == 0:
			return nil, nil, errorf(field+"."+k, "", "must list at least one name")
		case len(ref.Names) == 1:
			single[k] = ref.Names[0]
		default:
			key = append([]string(nil), ref.Names...)
		}
	}
	return single, key, nil
}

// validateSourceType checks the options of s that depend on its type.
func validateSourceType(key string, s Source) error {
	if err := validateFilter(key+".filter", s.Filter); err != nil {
		return err
	}
	switch s.Type {
	case TypeCSV:
		if s.Path == "" {
			return errorf(key+".path", "", "is required")
		}
		// The rules of encoding/csv, which the CSV reader relies on.
		switch d := s.Delimiter; {
		case d == 0, d == '"', d == '\r', d == '\n', d == utf8.RuneError, !validRune(d):
			return errorf(key+".delimiter", string(d), "cannot be a field delimiter")
		}
		if err := validateInput(key, s); err != nil {
			return err
		}
		if s.NoHeader {
			return validatePositions(key+".columns", s.Columns, s.Key)
		}
		return validateColumns(key+".columns", s.Columns, s.Key)
	case TypeSQLite:
		if s.Path == "" {
			return errorf(key+".path", "", "is required")
		}
		if strings.TrimSpace(s.Query) == "" {
			return errorf(key+".query", "", "is required for a sqlite source: a SELECT returning the contract columns")
		}
		return validateColumns(key+".columns", s.Columns, s.Key)
	case TypeJSON:
		if s.Path == "" {
			return errorf(key+".path", "", "is required")
		}
		if err := validateInput(key, s); err != nil {
			return err
		}
		if err := validatePath(key+".items", s.Items); err != nil {
			return err
		}
		return validateFields(key+".fields", s.Fields, s.Key)
	case TypeHTTP:
		return validateHTTP(key, s)
	case TypePostgres, TypeMySQL:
		return validateDB(key, s)
	}
	return errorf(key+".type", s.Type, "is not a supported source type (supported: %s)", strings.Join(sourceTypes, ", "))
}

// validateColumns checks a columns: mapping of CSV headers or query result
// columns, and a composite key's column names.
func validateColumns(field string, cols map[string]string, key []string) error {
	names := make([]string, 0, len(cols))
	for f := range cols {
		names = append(names, f)
	}
	sort.Strings(names)
	headers := make(map[string]string, len(names))
	for _, f := range names {
		fkey := field + "." + f
		if !isContractField(f) {
			return errorf(fkey, "", "is not a field of the data contract (%s)", strings.Join(contractFields, ", "))
		}
		header := strings.ToLower(strings.TrimSpace(cols[f]))
		if header == "" {
			return errorf(fkey, "", "must name a header")
		}
		if other, ok := headers[header]; ok {
			return errorf(fkey, cols[f], "is already the header of %s", other)
		}
		headers[header] = f
	}
	seen := map[string]bool{}
	for _, part := range key {
		h := strings.ToLower(strings.TrimSpace(part))
		if h == "" {
			return errorf(field+".source_key", "", "lists an empty name")
		}
		if seen[h] {
			return errorf(field+".source_key", part, "is listed twice")
		}
		seen[h] = true
	}
	return nil
}

// validateFilter compiles a filter: expression, so that a bad one is a
// config error before anything is read.
func validateFilter(field, expr string) error {
	if expr == "" {
		return nil
	}
	f, err := source.CompileFilter(context.Background(), expr)
	if err != nil {
		return &Error{Field: field, Msg: "is not a valid filter", Err: err}
	}
	return f.Close()
}

// validateInput checks how a csv or json source finds and reads its files:
// the glob of path, pick, encoding and member.
func validateInput(key string, s Source) error {
	if _, err := filepath.Match(s.Path, ""); err != nil {
		return errorf(key+".path", s.Path, "is not a valid glob pattern (use *, ? and [a-z]; escape them with \\)")
	}
	if s.Pick != "" && !slices.Contains(picks, s.Pick) {
		return errorf(key+".pick", s.Pick, "is not a pick (want %s)", strings.Join(picks, ", "))
	}
	if s.Encoding != "" {
		if _, err := htmlindex.Get(s.Encoding); err != nil {
			return errorf(key+".encoding", s.Encoding, "is not a known encoding (a WHATWG label such as utf-8, windows-1252, iso-8859-15, utf-16le or shift_jis)")
		}
	}
	if s.Member != "" && strings.TrimSpace(s.Member) == "" {
		return errorf(key+".member", s.Member, "must name a file in the zip archive")
	}
	return nil
}

// validatePositions checks the columns: of a csv source without a header:
// 1-based column positions, source_key among them (one, or a composite
// key's list), no position given twice.
func validatePositions(field string, cols map[string]string, key []string) error {
	names := make([]string, 0, len(cols))
	for f := range cols {
		names = append(names, f)
	}
	sort.Strings(names)
	if _, ok := cols["source_key"]; !ok && len(key) == 0 {
		return errorf(field+".source_key", "", "is required with header: false: the position of the key column (1 is the first)")
	}
	used := map[int]string{}
	check := func(fkey, v, what string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return errorf(fkey, v, "is not a column position (1 is the first); with header: false, columns: gives positions")
		}
		if other, ok := used[n]; ok {
			return errorf(fkey, v, "is already the position of %s", other)
		}
		used[n] = what
		return nil
	}
	for _, f := range names {
		if !isContractField(f) {
			return errorf(field+"."+f, "", "is not a field of the data contract (%s)", strings.Join(contractFields, ", "))
		}
		if err := check(field+"."+f, cols[f], f); err != nil {
			return err
		}
	}
	for i, part := range key {
		if err := check(field+".source_key", part, fmt.Sprintf("part %d of source_key", i+1)); err != nil {
			return err
		}
	}
	return nil
}

// validateFields checks a fields: mapping of dotted paths in a JSON item.
func validateFields(field string, fields map[string]string, key []string) error {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		fkey := field + "." + f
		if !isContractField(f) {
			return errorf(fkey, "", "is not a field of the data contract (%s)", strings.Join(contractFields, ", "))
		}
		if strings.TrimSpace(fields[f]) == "" {
			return errorf(fkey, "", "must name a path in an item")
		}
		if err := validatePath(fkey, fields[f]); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, part := range key {
		if strings.TrimSpace(part) == "" {
			return errorf(field+".source_key", "", "lists an empty path")
		}
		if err := validatePath(field+".source_key", part); err != nil {
			return err
		}
		if seen[part] {
			return errorf(field+".source_key", part, "is listed twice")
		}
		seen[part] = true
	}
	return nil
}

// validatePath checks a dotted path: "" is the document itself, but no
// segment may be empty.
func validatePath(field, p string) error {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return errorf(field, p, "has an empty segment (write a dotted path like data.items)")
		}
	}
	return nil
}

// validateHTTP checks an http source. Values that may hold a credential
// (url, headers) are never quoted in the error.
func validateHTTP(key string, s Source) error {
	if s.URL == "" {
		return errorf(key+".url", "", "is required for an http source")
	}
	if err := checkEnvRefs(s.URL); err != "" {
		return errorf(key+".url", "", "%s", err)
	}
	if !absoluteHTTP(s.URL) {
		return errorf(key+".url", "", "is not an absolute http or https URL")
	}
	names := make([]string, 0, len(s.Headers))
	for h := range s.Headers {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		hkey := key + ".headers." + h
		if !validHeaderName(h) {
			return errorf(hkey, "", "is not a valid header name")
		}
		v := s.Headers[h]
		if strings.ContainsAny(v, "\r\n\x00") {
			return errorf(hkey, "", "must not contain a line break or NUL")
		}
		if err := checkEnvRefs(v); err != "" {
			return errorf(hkey, "", "%s", err)
		}
	}
	if err := validatePath(key+".items", s.Items); err != nil {
		return err
	}
	if err := validateFields(key+".fields", s.Fields, s.Key); err != nil {
		return err
	}
	switch s.Pagination {
	case "", PaginateLink:
	case PaginateNext:
		if s.Next == "" {
			return errorf(key+".next", "", "is required with pagination: next (the dotted path of the next page's URL)")
		}
		if err := validatePath(key+".next", s.Next); err != nil {
			return err
		}
		if s.Items == "" {
			return errorf(key+".items", "", "is required with pagination: next (the next link sits beside the items array)")
		}
	case PaginatePage, PaginateOffset:
		if strings.TrimSpace(s.PageParam) == "" {
			return errorf(key+".page_param", "", "must name a query parameter")
		}
		if s.PageStart < 0 {
			return errorf(key+".page_start", strconv.Itoa(s.PageStart), "must not be negative")
		}
	default:
		return errorf(key+".pagination", s.Pagination, "is not a pagination style (want %s, %s, %s or %s)",
			PaginateNext, PaginateLink, PaginatePage, PaginateOffset)
	}
	if s.Timeout <= 0 {
		return errorf(key+".timeout", s.Timeout.String(), "must be positive")
	}
	if s.Backoff <= 0 {
		return errorf(key+".backoff", s.Backoff.String(), "must be positive")
	}
	if s.MaxPages < 1 {
		return errorf(key+".max_pages", strconv.Itoa(s.MaxPages), "must be at least 1")
	}
	if s.Retries < 0 || s.Retries > MaxRetries {
		return errorf(key+".retries", strconv.Itoa(s.Retries), "must be between 0 and %d", MaxRetries)
	}
	return nil
}

// validateDB checks a postgres or mysql source. The dsn may hold a
// password, so it is never quoted in the error.
func validateDB(key string, s Source) error {
	if s.DSN == "" {
		return errorf(key+".dsn", "", "is required for a %s source: its connection string (%s)", s.Type, dsnExample(s.Type))
	}
	if strings.ContainsAny(s.DSN, "\r\n\x00") {
		return errorf(key+".dsn", "", "must not contain a line break or NUL")
	}
	if err := checkEnvRefs(s.DSN); err != "" {
		return errorf(key+".dsn", "", "%s", err)
	}
	if strings.TrimSpace(s.Query) == "" {
		return errorf(key+".query", "", "is required for a %s source: a SELECT returning the contract columns", s.Type)
	}
	if err := validateColumns(key+".columns", s.Columns, s.Key); err != nil {
		return err
	}
	if s.Timeout <= 0 {
		return errorf(key+".timeout", s.Timeout.String(), "must be positive")
	}
	if s.Backoff <= 0 {
		return errorf(key+".backoff", s.Backoff.String(), "must be positive")
	}
	if s.Retries < 0 || s.Retries > MaxRetries {
		return errorf(key+".retries", strconv.Itoa(s.Retries), "must be between 0 and %d", MaxRetries)
	}
	return nil
}

func dsnExample(typ string) string {
	if typ == TypeMySQL {
		return "user:${PASSWORD}@tcp(host:3306)/dbname"
	}
	return "postgres://user:${PASSWORD}@host:5432/dbname"
}

// checkEnvRefs checks the ${NAME} references in v, returning a message for
// the first bad one ("" when all are good). Whether the variables are set is
// checked when the source is read, not here: a config stays loadable on a
// machine without the secrets.
func checkEnvRefs(v string) string {
	for rest := v; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			return ""
		}
		rest = rest[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return "has an unclosed ${"
		}
		if !validEnvName(rest[:j]) {
			return "has ${" + rest[:j] + "}, which is not an environment variable name"
		}
		rest = rest[j+1:]
	}
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// absoluteHTTP reports whether u (with its ${NAME} references taken as
// plain text) starts with http:// or https:// and names a host.
func absoluteHTTP(u string) bool {
	lower := strings.ToLower(u)
	var rest string
	switch {
	case strings.HasPrefix(lower, "http://"):
		rest = u[len("http://"):]
	case strings.HasPrefix(lower, "https://"):
		rest = u[len("https://"):]
	default:
		return false
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	return host != "" && !strings.ContainsAny(u, " \t\r\n")
}

// validHeaderName reports whether h is an RFC 9110 token.
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}
