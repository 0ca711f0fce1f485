package source_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// page is one canned response of an api, by request URI.
type page struct {
	status int               // 0 means 200
	body   string            // "{{URL}}" reads as the server's base URL
	header map[string]string // "{{URL}}" likewise
}

// api is an httptest server answering canned pages and recording requests.
type api struct {
	*httptest.Server
	mu    sync.Mutex
	pages map[string]page
	reqs  []*http.Request
}

func newAPI(t *testing.T, pages map[string]page) *api {
	t.Helper()
	a := &api{pages: pages}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.reqs = append(a.reqs, r.Clone(context.Background()))
		p, ok := a.pages[r.URL.RequestURI()]
		a.mu.Unlock()
		if !ok {
			http.Error(w, "no page "+r.URL.RequestURI(), http.StatusNotFound)
			return
		}
		base := "http://" + r.Host
		for k, v := range p.header {
			w.Header().Set(k, strings.ReplaceAll(v, "{{URL}}", base))
		}
		if p.status != 0 {
			w.WriteHeader(p.status)
		}
		fmt.Fprint(w, strings.ReplaceAll(p.body, "{{URL}}", base))
	}))
	t.Cleanup(a.Close)
	return a
}

// uris returns the request URIs the api got, in order.
func (a *api) uris() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.reqs {
		out = append(out, r.URL.RequestURI())
	}
	return out
}

// keys returns the raw keys of rows, checking their record numbers run from 1.
func keys(t *testing.T, rows []keysync.Row) []string {
	t.Helper()
	var out []string
	for i, r := range rows {
		if r.Record != int64(i+1) {
			t.Errorf("row %d has record %d, want %d", i, r.Record, i+1)
		}
		out = append(out, r.RawKey)
	}
	return out
}

func TestHTTPPagination(t *testing.T) {
	tests := []struct {
		name  string
		http  source.HTTP // URL is relative to the server
		pages map[string]page
		keys  []string
		uris  []string
	}{
		{
			name: "one request",
			http: source.HTTP{URL: "/all"},
			pages: map[string]page{
				"/all": {body: "{\"source_key\":\"a\"}\n{\"source_key\":\"b\"}\n"},
			},
			keys: []string{"a", "b"},
			uris: []string{"/all"},
		},
		{
			name: "next link in the body",
			http: source.HTTP{URL: "/items?limit=2", Items: "data", Next: "links.next"},
			pages: map[string]page{
				"/items?limit=2":           {body: `{"data":[{"source_key":"a"},{"source_key":"b"}],"links":{"next":"/items?limit=2&cursor=c2"}}`},
				"/items?limit=2&cursor=c2": {body: `{"links":{"next":"{{URL}}/items?limit=2&cursor=c3"},"data":[{"source_key":"c"},{"source_key":"d"}]}`},
				"/items?limit=2&cursor=c3": {body: `{"data":[{"source_key":"e"}],"links":{"next":null}}`},
			},
			keys: []string{"a", "b", "c", "d", "e"},
			uris: []string{"/items?limit=2", "/items?limit=2&cursor=c2", "/items?limit=2&cursor=c3"},
		},
		{
			name: "next link relative to the page, ending with an empty string",
			http: source.HTTP{URL: "/v2/items", Items: "items", Next: "next", Pagination: source.PaginateNext},
			pages: map[string]page{
				"/v2/items":         {body: `{"items":[{"source_key":"a"}],"next":"items?after=a"}`},
				"/v2/items?after=a": {body: `{"items":[{"source_key":"b"}],"next":""}`},
			},
			keys: []string{"a", "b"},
			uris: []string{"/v2/items", "/v2/items?after=a"},
		},
		{
			name: "Link header",
			http: source.HTTP{URL: "/v1/items", Pagination: source.PaginateLink},
			pages: map[string]page{
				"/v1/items":        {body: `[{"source_key":"a"}]`, header: map[string]string{"Link": `</v1/items?page=2>; rel="next", </v1/items?page=3>; rel="last"`}},
				"/v1/items?page=2": {body: `[{"source_key":"b"}]`, header: map[string]string{"Link": `<{{URL}}/v1/items?page=1>; rel="prev", <{{URL}}/v1/items?page=3>; rel="next"`}},
				"/v1/items?page=3": {body: `[{"source_key":"c"}]`, header: map[string]string{"Link": `</v1/items?page=2>; rel="prev"`}},
			},
			keys: []string{"a", "b", "c"},
			uris: []string{"/v1/items", "/v1/items?page=2", "/v1/items?page=3"},
		},
		{
			name: "page parameter until an empty page",
			http: source.HTTP{URL: "/items?limit=2", Pagination: source.PaginatePage, PageStart: 1},
			pages: map[string]page{
				"/items?limit=2&page=1": {body: `[{"source_key":"a"},{"source_key":"b"}]`},
				"/items?limit=2&page=2": {body: `[{"source_key":"c"}]`},
				"/items?limit=2&page=3": {body: `[]`},
			},
			keys: []string{"a", "b", "c"},
			uris: []string{"/items?limit=2&page=1", "/items?limit=2&page=2", "/items?limit=2&page=3"},
		},
		{
			name: "page parameter from 0 replacing the URL's own",
			http: source.HTTP{URL: "/items?p=9&limit=2", Pagination: source.PaginatePage, PageParam: "p", Items: "items"},
			pages: map[string]page{
				"/items?limit=2&p=0": {body: `{"items":[{"source_key":"a"}]}`},
				"/items?limit=2&p=1": {body: `{"items":null}`},
			},
			keys: []string{"a"},
			uris: []string{"/items?limit=2&p=0", "/items?limit=2&p=1"},
		},
		{
			name: "offset parameter until an empty page",
			http: source.HTTP{URL: "/items?limit=2", Pagination: source.PaginateOffset, PageParam: "skip", Items: "items"},
			pages: map[string]page{
				"/items?limit=2&skip=0": {body: `{"items":[{"source_key":"a"},{"source_key":"b"}]}`},
				"/items?limit=2&skip=2": {body: `{"items":[{"source_key":"c"},{"source_key":"d"}]}`},
				"/items?limit=2&skip=4": {body: `{"items":[{"source_key":"e"}]}`},
				"/items?limit=2&skip=5": {body: `{"items":[]}`},
			},
			keys: []string{"a", "b", "c", "d", "e"},
			uris: []string{"/items?limit=2&skip=0", "/items?limit=2&skip=2", "/items?limit=2&skip=4", "/items?limit=2&skip=5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, tt.pages)
			h := tt.http
			h.System, h.URL = "C", a.URL+h.URL
			var rec recorder
			st, err := h.Extract(context.Background(), testRules, &rec)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got := keys(t, rec.rows); !reflect.DeepEqual(got, tt.keys) {
				t.Errorf("keys = %q, want %q", got, tt.keys)
			}
			if got := a.uris(); !reflect.DeepEqual(got, tt.uris) {
				t.Errorf("requests = %q, want %q", got, tt.uris)
			}
			// The fingerprint covers every page's body, in order.
			var all strings.Builder
			for _, u := range tt.uris {
				all.WriteString(strings.ReplaceAll(tt.pages[u].body, "{{URL}}", a.URL))
			}
			sum := sha256.Sum256([]byte(all.String()))
			if got, want := st.Fingerprint, (source.Fingerprint{Path: h.URL, Bytes: int64(all.Len()), SHA256: hex.EncodeToString(sum[:])}); got != want {
				t.Errorf("Fingerprint = %+v, want %+v", got, want)
			}
			if got, want := st.RowsRead, int64(len(tt.keys)); got != want {
				t.Errorf("RowsRead = %d, want %d", got, want)
			}
		})
	}
}

// extractHTTPErr runs h against a (its URL relative to the server) and
// returns the error, which must be a *source.Error of system C.
func extractHTTPErr(t *testing.T, a *api, h source.HTTP) (*source.Error, *recorder) {
	t.Helper()
	h.System = "C"
	h.URL = a.URL + h.URL
	if h.Backoff == 0 {
		h.Backoff = time.Millisecond
	}
	var rec recorder
	st, err := h.Extract(context.Background(), testRules, &rec)
	if err == nil {
		t.Fatalf("Extract succeeded (%+v), want an error", st)
	}
	var se *source.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %T (%v), want *source.Error", err, err)
	}
	if se.System != "C" || !strings.Contains(err.Error(), `source "C"`) {
		t.Errorf("error %q does not name source C", err)
	}
	return se, &rec
}

func TestHTTPRetries(t *testing.T) {
	t.Run("429 then success", func(t *testing.T) {
		var n int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			if n == 1 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			fmt.Fprint(w, `[{"source_key":"a"}]`)
		}))
		defer srv.Close()
		var rec recorder
		h := source.HTTP{System: "C", URL: srv.URL, Retries: 1, Backoff: time.Hour, MaxBackoff: time.Hour}
		st, err := h.Extract(context.Background(), testRules, &rec)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || len(rec.rows) != 1 {
			t.Fatalf("%d requests, %d rows; want 2 and 1", n, len(rec.rows))
		}
		// Only the successful body is fingerprinted.
		if got, want := st.Bytes, int64(len(`[{"source_key":"a"}]`)); got != want {
			t.Errorf("Bytes = %d, want %d", got, want)
		}
	})
	t.Run("503 with a past Retry-After date then success", func(t *testing.T) {
		var n int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			if n < 3 {
				w.Header().Set("Retry-After", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, `[{"source_key":"a"}]`)
		}))
		defer srv.Close()
		h := source.HTTP{System: "C", URL: srv.URL, Retries: 2, Backoff: time.Hour, MaxBackoff: time.Hour}
		if _, err := h.Extract(context.Background(), testRules, &recorder{}); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
	t.Run("500 until the retries are exhausted", func(t *testing.T) {
		a := newAPI(t, map[string]page{"/items?page_size=5": {status: 500, body: "boom"}})
		se, _ := extractHTTPErr(t, a, source.HTTP{URL: "/items?page_size=5", Retries: 2})
		if got := len(a.uris()); got != 3 {
			t.Errorf("%d requests, want 3 (1 + 2 retries)", got)
		}
		want := fmt.Sprintf(`source "C": read %s/items?page_size=5 page 1: HTTP 500 Internal Server Error, still after 2 retries`, a.URL)
		if got := se.Error(); got != want {
			t.Errorf("error\n got %q\nwant %q", got, want)
		}
	})
	t.Run("404 is not retried", func(t *testing.T) {
		a := newAPI(t, nil)
		se, _ := extractHTTPErr(t, a, source.HTTP{URL: "/nope", Retries: 3})
		if got := len(a.uris()); got != 1 {
			t.Errorf("%d requests, want 1", got)
		}
		if !strings.HasSuffix(se.Error(), "page 1: HTTP 404 Not Found") {
			t.Errorf("error %q", se)
		}
	})
	t.Run("failure on page 2 names page 2 and its URL", func(t *testing.T) {
		a := newAPI(t, map[string]page{
			"/i?page=1": {body: `[{"source_key":"a"}]`},
			"/i?page=2": {status: 502, body: "bad gateway"},
		})
		se, _ := extractHTTPErr(t, a, source.HTTP{URL: "/i", Pagination: source.PaginatePage, PageStart: 1})
		if se.Page != 2 || se.Path != a.URL+"/i?page=2" {
			t.Errorf("Page %d, Path %q; want 2 and %s/i?page=2", se.Page, se.Path, a.URL)
		}
		if !strings.Contains(se.Error(), "page 2: HTTP 502 Bad Gateway") {
			t.Errorf("error %q", se)
		}
	})
	t.Run("cancelled while waiting to retry", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cancel()
			w.Header().Set("Retry-After", "60")
			http.Error(w, "later", http.StatusTooManyRequests)
		}))
		defer srv.Close()
		h := source.HTTP{System: "C", URL: srv.URL, Retries: 5, MaxBackoff: time.Minute}
		_, err := h.Extract(ctx, testRules, &recorder{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			fmt.Fprint(w, `[{"source_key":"a"},`)
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	for _, tt := range []struct{ path, want string }{
		{"/slow-headers", "page 1: no response within the timeout of 20ms"},
		{"/slow-body", "page 1: response not complete within the timeout of 20ms"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			h := source.HTTP{System: "C", URL: srv.URL + tt.path, Timeout: 20 * time.Millisecond, Retries: 3, Backoff: time.Millisecond}
			_, err := h.Extract(context.Background(), testRules, &recorder{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestHTTPFailures(t *testing.T) {
	tests := []struct {
		name  string
		http  source.HTTP
		pages map[string]page
		page  int
		want  string
		reqs  int
	}{
		{
			name:  "malformed JSON on page 2",
			http:  source.HTTP{URL: "/i", Items: "data", Next: "next"},
			pages: map[string]page{"/i": {body: `{"data":[{"source_key":"a"}],"next":"/i?p=2"}`}, "/i?p=2": {body: `{"data":[{"source_key":"b"},{"source_key":}]}`}},
			page:  2, want: "item 3: invalid JSON", reqs: 2,
		},
		{
			name:  "malformed JSON outside the items",
			http:  source.HTTP{URL: "/i", Items: "data"},
			pages: map[string]page{"/i": {body: `{"data":[], "x": nope}`}},
			page:  1, want: "invalid JSON at byte", reqs: 1,
		},
		{
			name:  "an HTML error page with status 200",
			http:  source.HTTP{URL: "/i"},
			pages: map[string]page{"/i": {body: `<html>maintenance</html>`}},
			page:  1, want: "want an array of items or one object per line", reqs: 1,
		},
		{
			name:  "empty body",
			http:  source.HTTP{URL: "/i"},
			pages: map[string]page{"/i": {body: ``}},
			page:  1, want: "empty: no JSON value", reqs: 1,
		},
		{
			name:  "missing items path",
			http:  source.HTTP{URL: "/i", Items: "data.items"},
			pages: map[string]page{"/i": {body: `{"data":{"rows":[{"source_key":"a"}]}}`}},
			page:  1, want: `no items at "data.items"`, reqs: 1,
		},
		{
			name:  "next is not a string",
			http:  source.HTTP{URL: "/i", Items: "data", Next: "next"},
			pages: map[string]page{"/i": {body: `{"data":[],"next":{"href":"/x"}}`}},
			page:  1, want: `next page at "next" holds an object, not a URL`, reqs: 1,
		},
		{
			name: "more pages than max_pages by next link",
			http: source.HTTP{URL: "/i?c=1", Items: "data", Next: "next", MaxPages: 2},
			pages: map[string]page{
				"/i?c=1": {body: `{"data":[{"source_key":"a"}],"next":"/i?c=2"}`},
				"/i?c=2": {body: `{"data":[{"source_key":"b"}],"next":"/i?c=3"}`},
				"/i?c=3": {body: `{"data":[{"source_key":"c"}],"next":"/i?c=4"}`},
			},
			page: 2, want: "more than max_pages (2) pages: this page links to a next one", reqs: 2,
		},
		{
			name: "more pages than max_pages by page number",
			http: source.HTTP{URL: "/i", Pagination: source.PaginatePage, PageStart: 1, MaxPages: 2},
			pages: map[string]page{
				"/i?page=1": {body: `[{"source_key":"a"}]`},
				"/i?page=2": {body: `[{"source_key":"b"}]`},
				"/i?page=3": {body: `[{"source_key":"c"}]`},
			},
			page: 3, want: "more than max_pages (2) pages: this page still has items", reqs: 3,
		},
		{
			name:  "next page is this page",
			http:  source.HTTP{URL: "/i", Pagination: source.PaginateLink},
			pages: map[string]page{"/i": {body: `[]`, header: map[string]string{"Link": `</i>; rel="next"`}}},
			page:  1, want: "the next page is this page again", reqs: 1,
		},
		{
			name:  "next page on another host",
			http:  source.HTTP{URL: "/i", Items: "d", Next: "n"},
			pages: map[string]page{"/i": {body: `{"d":[],"n":"https://elsewhere.example/i?p=2"}`}},
			page:  1, want: "next page https://elsewhere.example/i?p=2 is not on http://127.0.0.1", reqs: 1,
		},
		{
			name: "pagination unknown",
			http: source.HTTP{URL: "/i", Pagination: "cursor"},
			want: `pagination: unknown style "cursor"`,
		},
		{
			name: "fields unknown",
			http: source.HTTP{URL: "/i", Fields: map[string]string{"id": "x"}},
			want: `fields: unknown field "id"`,
		},
		{
			name: "unset variable",
			http: source.HTTP{URL: "/i", Headers: map[string]string{"Authorization": "Bearer ${KEYSYNC_TEST_SURELY_UNSET}"}},
			want: "headers: Authorization: environment variable KEYSYNC_TEST_SURELY_UNSET is not set or empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, tt.pages)
			se, _ := extractHTTPErr(t, a, tt.http)
			if se.Page != tt.page {
				t.Errorf("Page = %d, want %d (%v)", se.Page, tt.page, se)
			}
			if !strings.Contains(se.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", se, tt.want)
			}
			if got := len(a.uris()); got != tt.reqs {
				t.Errorf("%d requests, want %d", got, tt.reqs)
			}
		})
	}
	t.Run("not an http URL", func(t *testing.T) {
		h := source.HTTP{System: "C", URL: "ftp://example.com/x"}
		_, err := h.Extract(context.Background(), testRules, &recorder{})
		if err == nil || !strings.Contains(err.Error(), "url: not an absolute http or https URL") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no server", func(t *testing.T) {
		a := newAPI(t, nil)
		url := a.URL
		a.Close()
		h := source.HTTP{System: "C", URL: url + "/i", Retries: 3, Backoff: time.Millisecond}
		_, err := h.Extract(context.Background(), testRules, &recorder{})
		if err == nil || !strings.Contains(err.Error(), "page 1: GET: ") || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("err = %v, want a refused connection on page 1", err)
		}
	})
}

// TestHTTPSecrets sends a token header and a key query parameter taken from
// the environment, and checks they reach the server but never a message.
func TestHTTPSecrets(t *testing.T) {
	const (
		token  = "tok-9f8e7d6c5b4a"
		apiKey = "key-1a2b3c4d"
		static = "literal-secret-123"
	)
	env := map[string]string{"API_TOKEN": token, "API_KEY": apiKey}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	secrets := []string{token, apiKey, static}

	// page2 is what the second page does; the first page always links to it,
	// echoing the token in the link as some APIs do.
	for _, tt := range []struct {
		name  string
		page2 func(w http.ResponseWriter, base string)
		want  string
	}{
		{"success", func(w http.ResponseWriter, base string) { fmt.Fprint(w, `{"data":[{"source_key":"b"}]}`) }, ""},
		{"500 echoing the token", func(w http.ResponseWriter, base string) {
			http.Error(w, "internal error for token "+token, http.StatusInternalServerError)
		}, "HTTP 500"},
		{"malformed JSON", func(w http.ResponseWriter, base string) { fmt.Fprint(w, `{"data":[{"source_key":"`+token+`"`) }, "invalid JSON"},
		{"next link to another host with the token", func(w http.ResponseWriter, base string) {
			fmt.Fprintf(w, `{"data":[],"next":"https://evil.example/steal?access_token=%s&t=%s"}`, token, token)
		}, "is not on"},
		{"next link with the token in the path", func(w http.ResponseWriter, base string) {
			fmt.Fprintf(w, `{"data":[],"next":"%s/%s/x"}`, base, token)
		}, "HTTP 401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = append(got, r.Header.Clone())
				mu.Unlock()
				if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("X-Static") != static ||
					r.URL.Query().Get("api_key") != apiKey || r.URL.Path != "/items" {
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
				base := "http://" + r.Host
				if r.URL.Query().Get("cursor") == "" {
					fmt.Fprintf(w, `{"data":[{"source_key":"a"}],"next":"%s/items?api_key=%s&cursor=2&access_token=%s"}`, base, apiKey, token)
					return
				}
				tt.page2(w, base)
			}))
			defer srv.Close()
			h := source.HTTP{
				System: "C", URL: srv.URL + "/items?api_key=${API_KEY}", Items: "data", Next: "next",
				Headers:   map[string]string{"Authorization": "Bearer ${API_TOKEN}", "X-Static": static},
				LookupEnv: lookup, Retries: 1, Backoff: time.Millisecond,
			}
			st, err := h.Extract(context.Background(), testRules, &recorder{})
			if len(got) == 0 || got[0].Get("Authorization") != "Bearer "+token {
				t.Fatalf("the server got no token header: %v", got)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := srv.URL + "/items?api_key=REDACTED"; st.Path != want {
					t.Errorf("fingerprint Path = %q, want %q", st.Path, want)
				}
				assertNoSecret(t, "fingerprint", st.Path, secrets)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "REDACTED") {
				t.Errorf("error %q shows no redacted URL", err)
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				assertNoSecret(t, fmt.Sprintf("error (%T)", e), e.Error(), secrets)
				assertNoSecret(t, "error %+v", fmt.Sprintf("%+v %#v", e, e), secrets)
			}
		})
	}
}

func assertNoSecret(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s %q shows the secret %q", what, text, s)
		}
	}
}

// TestHTTPRedirectDropsHeaders: a redirect to another host gets none of the
// configured headers, whatever their names.
func TestHTTPRedirectDropsHeaders(t *testing.T) {
	var other http.Header
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other = r.Header.Clone()
		fmt.Fprint(w, `[{"source_key":"a"}]`)
	}))
	defer elsewhere.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// localhost and 127.0.0.1 are different hosts to the client.
		http.Redirect(w, r, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)+"/moved", http.StatusFound)
	}))
	defer origin.Close()
	h := source.HTTP{System: "C", URL: origin.URL, Headers: map[string]string{"X-Api-Key": "k-123456", "Authorization": "Bearer t"}}
	if _, err := h.Extract(context.Background(), testRules, &recorder{}); err != nil {
		t.Fatal(err)
	}
	if other == nil {
		t.Fatal("the redirect was not followed")
	}
	if v := other.Get("X-Api-Key") + other.Get("Authorization"); v != "" {
		t.Errorf("the other host got the headers: %q", v)
	}
}

// TestHTTPStreams proves a page is not read whole before its items flow:
// the server sends the first item and then waits until the sink has it.
func TestHTTPStreams(t *testing.T) {
	got := make(chan struct{})
	streamed := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":{"items":[{"source_key":"first"},`)
		w.(http.Flusher).Flush()
		select {
		case <-got:
			streamed <- true
		case <-time.After(5 * time.Second): // not a timing check: a way out of the deadlock
			streamed <- false
		}
		fmt.Fprint(w, `{"source_key":"second"}]}}`)
	}))
	defer srv.Close()
	sink := &notify{first: got}
	h := source.HTTP{System: "C", URL: srv.URL, Items: "data.items"}
	if _, err := h.Extract(context.Background(), testRules, sink); err != nil {
		t.Fatal(err)
	}
	if !<-streamed {
		t.Fatal("the first item reached the sink only after the whole body was sent")
	}
	if sink.n != 2 {
		t.Fatalf("%d rows, want 2", sink.n)
	}
}

// notify is a Sink that closes first on the first row.
type notify struct {
	first chan struct{}
	n     int
}

func (s *notify) Accept(keysync.Row) error {
	s.n++
	if s.n == 1 {
		close(s.first)
	}
	return nil
}
func (s *notify) Reject(keysync.Rejection) error { return nil }

// The HTTP reader tells a ByteCounter sink the bytes of every page so far.
func TestHTTPReportsBytesRead(t *testing.T) {
	p1, p2 := `{"d":[{"source_key":"a"}],"n":"/i?p=2"}`, `{"d":[{"source_key":"b"}]}`
	a := newAPI(t, map[string]page{"/i": {body: p1}, "/i?p=2": {body: p2}})
	sink := &countingSink{}
	h := source.HTTP{System: "C", URL: a.URL + "/i", Items: "d", Next: "n"}
	st, err := h.Extract(context.Background(), testRules, sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.totals) == 0 {
		t.Fatal("BytesRead never called")
	}
	if last := sink.totals[len(sink.totals)-1]; last != int64(len(p1)+len(p2)) || last != st.Bytes {
		t.Errorf("last BytesRead = %d, want both pages' %d bytes (stats say %d)", last, len(p1)+len(p2), st.Bytes)
	}
}
