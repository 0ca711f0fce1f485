package source

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of an HTTP source, for the options left zero.
const (
	DefaultTimeout    = 30 * time.Second // per request, until its body is read
	DefaultMaxPages   = 10000
	DefaultBackoff    = time.Second      // the first retry's wait; it doubles for each retry
	DefaultMaxBackoff = 30 * time.Second // no wait between retries is longer, Retry-After included
)

// Redacted stands in for a secret in every message and in the fingerprint.
const Redacted = "REDACTED"

// HTTP is a source read from a JSON API with GET requests, page after page.
// Each page is a JSON document decoded as a JSON source's file is (Items,
// Fields, Key), streamed item by item; record numbers run on across pages.
//
// Secrets. URL and header values may hold ${NAME} references to environment
// variables, expanded when Extract runs, so that the configuration holds no
// secret. Every header value, every expanded variable, the user info of a
// URL and the values of query parameters whose names look like secrets
// (token, key, secret, pass, auth, sig, ...) are replaced by REDACTED in
// every error message and in the fingerprint's Path, which shows the URL as
// configured.
type HTTP struct {
	System  string            // the configured source name
	URL     string            // the first page; ${NAME} is expanded
	Headers map[string]string // sent with every request; ${NAME} is expanded
	Items   string            // dotted path to each page's items array; "" is the document itself
	Fields  map[string]string // contract field -> dotted path in an item

	Key          []string // composite source_key paths, see JSON.Key
	KeySeparator string

	// Pagination is PaginateNone (one request; PaginateNext when Next is
	// set), PaginateNext (the URL at the dotted path Next of each page,
	// resolved against the page's URL, until it is missing, null or ""),
	// PaginateLink (the Link header's rel="next" target, until there is none),
	// or PaginatePage / PaginateOffset (the query parameter PageParam set to
	// PageStart and then the next page number, or the count of items read so
	// far plus PageStart, until a page has no items). A next page on another
	// host than URL's fails the source: the headers are never sent elsewhere.
	Pagination string
	Next       string
	PageParam  string // "" means "page" or "offset", after Pagination
	PageStart  int    // used as is: set 1 for pages numbered from 1

	Timeout    time.Duration // per request, until its body is read; 0 means DefaultTimeout
	MaxPages   int           // more pages fail the source; 0 means DefaultMaxPages
	Retries    int           // retries after a 429 or 5xx response (a failed connection is not retried)
	Backoff    time.Duration // the first retry's wait, doubling; 0 means DefaultBackoff
	MaxBackoff time.Duration // the longest wait, Retry-After included; 0 means DefaultMaxBackoff

	Client    *http.Client                // nil: one that drops the headers on a redirect to another host
	LookupEnv func(string) (string, bool) // nil: os.LookupEnv
	Now       func() time.Time            // for Retry-After dates; nil: time.Now
}

// Extract fetches every page and streams its items through rules into sink.
// The fingerprint is the URL as configured (secrets redacted) and the bytes
// and SHA-256 of every page's body, in order.
//
// The source fails, naming the page's URL (secrets redacted) and number,
// when a request gets no response or none within Timeout, a response is not
// 2xx (after the retries, for 429 and 5xx), a body is not JSON or lacks the
// Items path, or there would be more than MaxPages pages.
func (h *HTTP) Extract(ctx context.Context, rules Rules, sink Sink) (Stats, error) {
	sec := &secrets{}
	shown := sec.redactURL(h.URL) // no secret known yet: the configured text, query redacted
	fail := func(page int, err error) (Stats, error) {
		return Stats{}, &Error{System: h.System, Path: shown, Page: page, Err: sec.scrubErr(err)}
	}
	if err := ctx.Err(); err != nil {
		return fail(0, err)
	}
	if rules.System == "" {
		rules.System = h.System
	}
	lookup := h.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	hdr := http.Header{}
	names := slices.Sorted(maps.Keys(h.Headers))
	for _, name := range names {
		v, err := expandEnv(h.Headers[name], lookup, sec)
		if err != nil {
			return fail(0, fmt.Errorf("headers: %s: %w", name, err))
		}
		sec.add(v)
		hdr.Set(name, v)
	}
	if hdr.Get("Accept") == "" {
		hdr.Set("Accept", "application/json")
	}
	if hdr.Get("User-Agent") == "" {
		hdr.Set("User-Agent", "keysync")
	}
	raw, err := expandEnv(h.URL, lookup, sec)
	if err != nil {
		return fail(0, fmt.Errorf("url: %w", err))
	}
	first, err := url.Parse(raw)
	if err != nil || (first.Scheme != "http" && first.Scheme != "https") || first.Host == "" {
		return fail(0, errors.New("url: not an absolute http or https URL"))
	}
	fields, err := compileFields(h.Fields, h.Key, h.KeySeparator)
	if err != nil {
		return fail(0, err)
	}
	items, err := splitPath("items", h.Items)
	if err != nil {
		return fail(0, err)
	}
	pagination := h.Pagination
	if pagination == PaginateNone && h.Next != "" {
		pagination = PaginateNext
	}
	s := &jsonStream{ctx: ctx, items: items, fields: fields, rules: rules, sink: sink}
	param := h.PageParam
	switch pagination {
	case PaginateNone, PaginateLink:
	case PaginateNext:
		if s.next, err = splitPath("next", h.Next); err != nil {
			return fail(0, err)
		}
		if s.next == nil {
			return fail(0, errors.New("next: no path to the next page's URL"))
		}
	case PaginatePage, PaginateOffset:
		if param == "" {
			param = pagination
		}
		first.RawQuery = setQuery(first.RawQuery, param, h.PageStart)
	default:
		return fail(0, fmt.Errorf("pagination: unknown style %q (want %s, %s, %s or %s)",
			pagination, PaginateNext, PaginateLink, PaginatePage, PaginateOffset))
	}
	maxPages := h.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	client := h.client(names)
	sum := sha256.New()
	var nbytes int64
	cur := first
	for page := 1; ; page++ {
		shown = sec.redactURL(cur.String())
		n, next, err := h.page(ctx, client, cur, hdr, s, sum, nbytes)
		nbytes += n
		if err != nil {
			return fail(page, err)
		}
		var link string
		switch pagination {
		case PaginateNone:
			return h.stats(sec, s, nbytes, sum), nil
		case PaginateNext, PaginateLink:
			if link = next; link == "" {
				return h.stats(sec, s, nbytes, sum), nil
			}
		case PaginatePage, PaginateOffset:
			if s.docItems == 0 {
				return h.stats(sec, s, nbytes, sum), nil
			}
			if page > maxPages {
				return fail(page, fmt.Errorf("more than max_pages (%d) pages: this page still has items", maxPages))
			}
			n := h.PageStart + page
			if pagination == PaginateOffset {
				n = h.PageStart + int(s.n)
			}
			u := *cur
			u.RawQuery = setQuery(cur.RawQuery, param, n)
			cur = &u
			continue
		}
		if page >= maxPages {
			return fail(page, fmt.Errorf("more than max_pages (%d) pages: this page links to a next one", maxPages))
		}
		nu, err := cur.Parse(link)
		if err != nil {
			return fail(page, fmt.Errorf("next page %q: %w", sec.redactURL(link), withoutURL(err)))
		}
		if nu.Scheme != first.Scheme || nu.Host != first.Host {
			return fail(page, fmt.Errorf("next page %s is not on %s://%s; refusing to send the headers there",
				sec.redactURL(nu.String()), first.Scheme, first.Host))
		}
		if nu.String() == cur.String() {
			return fail(page, errors.New("the next page is this page again"))
		}
		cur = nu
	}
}

func (h *HTTP) stats(sec *secrets, s *jsonStream, n int64, sum hash.Hash) Stats {
	return Stats{
		RowsRead:    s.n,
		Fingerprint: Fingerprint{Path: sec.redactURL(h.URL), Bytes: n, SHA256: hex.EncodeToString(sum.Sum(nil))},
	}
}

// page fetches one page and decodes it into s. It returns the size of the
// body and the next page's URL (from the body or the Link header).
func (h *HTTP) page(ctx context.Context, client *http.Client, u *url.URL, hdr http.Header,
	s *jsonStream, sum hash.Hash, before int64) (int64, string, error) {
	resp, rctx, cancel, err := h.get(ctx, client, u, hdr)
	if err != nil {
		return 0, "", err
	}
	defer cancel()
	defer resp.Body.Close()
	hr := &hashingReader{r: resp.Body, h: sum}
	if bc, ok := s.sink.(ByteCounter); ok {
		hr.progress = func(n int64) { bc.BytesRead(before + n) } // over every page so far
	}
	br := bufio.NewReaderSize(hr, 64<<10)
	err = s.read(br)
	if err == nil {
		_, err = io.Copy(io.Discard, br)
	}
	if err != nil {
		if ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
			return hr.n, "", fmt.Errorf("response not complete within the timeout of %s", h.timeout())
		}
		return hr.n, "", withoutURL(err)
	}
	if h.Pagination == PaginateLink {
		return hr.n, nextLink(resp.Header.Values("Link")), nil
	}
	return hr.n, s.nextURL, nil
}

// get sends the request, retrying on 429 and 5xx, and returns a 2xx
// response with the context that bounds the reading of its body.
func (h *HTTP) get(ctx context.Context, client *http.Client, u *url.URL, hdr http.Header) (
	*http.Response, context.Context, context.CancelFunc, error) {
	backoff, maxBackoff := h.Backoff, h.MaxBackoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	if maxBackoff <= 0 {
		maxBackoff = DefaultMaxBackoff
	}
	now := h.Now
	if now == nil {
		now = time.Now
	}
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, h.timeout())
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
		if err != nil {
			cancel()
			return nil, nil, nil, withoutURL(err)
		}
		req.Header = hdr.Clone()
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			switch {
			case ctx.Err() != nil:
				return nil, nil, nil, ctx.Err()
			case errors.Is(rctx.Err(), context.DeadlineExceeded):
				return nil, nil, nil, fmt.Errorf("no response within the timeout of %s", h.timeout())
			}
			return nil, nil, nil, fmt.Errorf("GET: %w", withoutURL(err))
		}
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return resp, rctx, cancel, nil
		}
		// Read a little of the body so the connection can be reused; its
		// text is never shown, since a server may echo a credential.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		switch {
		case !retryable || h.Retries <= 0:
			return nil, nil, nil, fmt.Errorf("HTTP %s", resp.Status)
		case attempt >= h.Retries:
			return nil, nil, nil, fmt.Errorf("HTTP %s, still after %d retries", resp.Status, h.Retries)
		}
		wait := retryDelay(attempt, backoff, maxBackoff, resp.Header.Get("Retry-After"), now())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (h *HTTP) timeout() time.Duration {
	if h.Timeout <= 0 {
		return DefaultTimeout
	}
	return h.Timeout
}

// client returns the HTTP client. The default one follows up to 10
// redirects, but drops the configured headers (not only Authorization, as
// net/http does) when a redirect leaves the first URL's scheme and host.
func (h *HTTP) client(headers []string) *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
			for _, name := range headers {
				req.Header.Del(name)
			}
		}
		return nil
	}}
}

// retryDelay is the wait before retry attempt+1: Retry-After when the
// response has a valid one (seconds, or an HTTP date), else base doubled
// for each earlier retry; never more than limit.
func retryDelay(attempt int, base, limit time.Duration, retryAfter string, now time.Time) time.Duration {
	d := limit
	if attempt < 32 {
		if b := base << attempt; b > 0 && b < limit {
			d = b
		}
	}
	if ra := strings.TrimSpace(retryAfter); ra != "" {
		if secs, err := strconv.ParseInt(ra, 10, 64); err == nil && secs >= 0 {
			d = limit
			if secs < int64(limit/time.Second)+1 {
				d = time.Duration(secs) * time.Second
			}
		} else if t, err := http.ParseTime(ra); err == nil {
			d = max(t.Sub(now), 0)
		}
	}
	return min(d, limit)
}

// setQuery sets the query parameter name to n in the raw query q, in place
// of any it has, keeping the other parameters as written.
func setQuery(q, name string, n int) string {
	var parts []string
	for _, p := range strings.Split(q, "&") {
		if p == "" {
			continue
		}
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		parts = append(parts, p)
	}
	parts = append(parts, url.QueryEscape(name)+"="+strconv.Itoa(n))
	return strings.Join(parts, "&")
}

// nextLink returns the target of the first link with relation "next" in
// Link header values (RFC 8288): `<https://x/items?page=2>; rel="next"`.
func nextLink(values []string) string {
	for _, v := range values {
		for _, l := range parseLinks(v) {
			for _, rel := range strings.Fields(l.rel) {
				if strings.EqualFold(rel, "next") {
					return l.target
				}
			}
		}
	}
	return ""
}

type link struct{ target, rel string }

// parseLinks reads one Link header value: comma-separated links, each a
// <target> and ;-separated parameters, whose values may be quoted strings
// holding commas and semicolons. Malformed links are skipped.
func parseLinks(v string) []link {
	var links []link
	i := 0
	skipSpace := func() {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
	}
	// skipTo moves past the next unquoted stop byte (or to the end).
	skipTo := func(stop byte) {
		for i < len(v) && v[i] != stop {
			if v[i] == '"' {
				i++
				for i < len(v) && v[i] != '"' {
					if v[i] == '\\' {
						i++
					}
					i++
				}
			}
			i++
		}
	}
	for i < len(v) {
		skipSpace()
		if i >= len(v) {
			break
		}
		if v[i] != '<' {
			skipTo(',')
			i++
			continue
		}
		end := strings.IndexByte(v[i:], '>')
		if end < 0 {
			break
		}
		l := link{target: strings.TrimSpace(v[i+1 : i+end])}
		i += end + 1
		for {
			skipSpace()
			if i >= len(v) || v[i] != ';' {
				break
			}
			i++
			skipSpace()
			start := i
			for i < len(v) && v[i] != '=' && v[i] != ';' && v[i] != ',' && v[i] != ' ' && v[i] != '\t' {
				i++
			}
			name := v[start:i]
			skipSpace()
			var val string
			if i < len(v) && v[i] == '=' {
				i++
				skipSpace()
				if i < len(v) && v[i] == '"' {
					var b strings.Builder
					for i++; i < len(v) && v[i] != '"'; i++ {
						if v[i] == '\\' && i+1 < len(v) {
							i++
						}
						b.WriteByte(v[i])
					}
					i++ // the closing quote
					val = b.String()
				} else {
					start := i
					for i < len(v) && v[i] != ';' && v[i] != ',' && v[i] != ' ' && v[i] != '\t' {
						i++
					}
					val = v[start:i]
				}
			}
			if strings.EqualFold(name, "rel") && l.rel == "" {
				l.rel = val
			}
		}
		links = append(links, l)
		skipTo(',')
		i++
	}
	return links
}

// envRef is a ${NAME} reference to an environment variable.
var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces each ${NAME} in s with the variable's value and
// remembers each value as a secret. An unset or empty variable is an error
// naming the variable (never a value); so is a malformed reference.
func expandEnv(s string, lookup func(string) (string, bool), sec *secrets) (string, error) {
	var err error
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if err != nil {
			return ""
		}
		if !envName.MatchString(name) {
			err = fmt.Errorf("${%s} is not a valid variable reference", name)
			return ""
		}
		v, ok := lookup(name)
		if !ok || v == "" {
			err = fmt.Errorf("environment variable %s is not set or empty", name)
			return ""
		}
		sec.add(v)
		return v
	})
	if err != nil {
		return "", err
	}
	if strings.Contains(envRef.ReplaceAllString(s, ""), "${") {
		return "", errors.New("unclosed ${ in a variable reference")
	}
	return out, nil
}

// secrets are the values never to show: header values and expanded variables.
type secrets struct{ vals []string }

func (s *secrets) add(v string) {
	for _, w := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
		if w != "" && !slices.Contains(s.vals, w) {
			s.vals = append(s.vals, w)
		}
	}
	// Longest first, so a secret holding another is replaced whole.
	slices.SortFunc(s.vals, func(a, b string) int { return len(b) - len(a) })
}

// scrub replaces every secret in text.
func (s *secrets) scrub(text string) string {
	for _, v := range s.vals {
		text = strings.ReplaceAll(text, v, Redacted)
	}
	return text
}

// scrubErr returns err with its message scrubbed. errors.Is and errors.As
// still see the causes (context.Canceled, say).
func (s *secrets) scrubErr(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: s.scrub(err.Error()), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// redactURL returns a URL (or URL template) fit for a message: user info and
// the values of secret-looking query parameters replaced, the fragment
// dropped, every known secret scrubbed. It works on the text, so a ${NAME}
// reference is shown as written.
func (s *secrets) redactURL(u string) string {
	u, _, _ = strings.Cut(u, "#")
	rest, query, hasQuery := strings.Cut(u, "?")
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		authority, path := after, ""
		if i := strings.IndexByte(after, '/'); i >= 0 {
			authority, path = after[:i], after[i:]
		}
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			authority = Redacted + "@" + authority[at+1:]
		}
		rest = scheme + "://" + authority + path
	}
	if hasQuery {
		parts := strings.Split(query, "&")
		for i, p := range parts {
			k, v, ok := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if ok && v != "" && secretName(name) {
				parts[i] = k + "=" + Redacted
			}
		}
		rest += "?" + strings.Join(parts, "&")
	}
	return s.scrub(rest)
}

// secretName reports whether a query parameter's name suggests a credential.
func secretName(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"token", "key", "secret", "pass", "pwd", "auth", "sig", "cred", "session"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// withoutURL drops the *url.Error around a net/http error: its message holds
// the full URL, secrets and all. The page's redacted URL is in Error.Path.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
