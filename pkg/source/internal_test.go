package source

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRetryDelay(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	const base, limit = 100 * time.Millisecond, 5 * time.Second
	tests := []struct {
		name       string
		attempt    int
		retryAfter string
		want       time.Duration
	}{
		{"first retry waits the base", 0, "", 100 * time.Millisecond},
		{"doubles", 1, "", 200 * time.Millisecond},
		{"doubles again", 3, "", 800 * time.Millisecond},
		{"capped", 10, "", limit},
		{"huge attempt capped", 200, "", limit},
		{"Retry-After seconds", 0, "2", 2 * time.Second},
		{"Retry-After zero", 3, "0", 0},
		{"Retry-After seconds capped", 0, "3600", limit},
		{"Retry-After overflowing seconds capped", 0, "99999999999999999", limit},
		{"Retry-After date", 0, now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
		{"Retry-After date capped", 0, now.Add(time.Hour).Format(http.TimeFormat), limit},
		{"Retry-After date passed", 2, now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Retry-After garbage falls back to backoff", 1, "soon", 200 * time.Millisecond},
		{"Retry-After negative falls back to backoff", 0, "-5", 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryDelay(tt.attempt, base, limit, tt.retryAfter, now); got != tt.want {
				t.Errorf("retryDelay(%d, %q) = %v, want %v", tt.attempt, tt.retryAfter, got, tt.want)
			}
		})
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"next", []string{`<https://x/items?page=2>; rel="next"`}, "https://x/items?page=2"},
		{"unquoted rel", []string{`</items?page=2>; rel=next`}, "/items?page=2"},
		{"among others", []string{`<https://x/?p=1>; rel="first", <https://x/?p=3>; rel="next", <https://x/?p=9>; rel="last"`}, "https://x/?p=3"},
		{"rel list", []string{`<https://x/?p=3>; rel="last next"`}, "https://x/?p=3"},
		{"case-insensitive", []string{`<https://x/?p=3>; REL="Next"`}, "https://x/?p=3"},
		{"quoted comma and semicolon in a param", []string{`<https://x/?p=0>; title="a, b; rel=next", <https://x/?p=4>; rel="next"`}, "https://x/?p=4"},
		{"second header", []string{`<https://x/?p=1>; rel="prev"`, `<https://x/?p=5>; rel="next"`}, "https://x/?p=5"},
		{"no next", []string{`<https://x/?p=1>; rel="prev"`}, ""},
		{"malformed then good", []string{`garbage; rel="next", <https://x/?p=6>; rel="next"`}, "https://x/?p=6"},
		{"unclosed target", []string{`<https://x/?p=6; rel="next"`}, ""},
		{"comma in target", []string{`<https://x/?a=1,2>; rel="next"`}, "https://x/?a=1,2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextLink(tt.values); got != tt.want {
				t.Errorf("nextLink(%q) = %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	sec := &secrets{}
	sec.add("s3cr3t-token")
	sec.add("a b/c")
	tests := []struct{ in, want string }{
		{"https://api.example.com/items?page=2", "https://api.example.com/items?page=2"},
		{"https://api.example.com/items?api_key=abc&page=2", "https://api.example.com/items?api_key=REDACTED&page=2"},
		{"https://api.example.com/items?access_token=${TOKEN}&limit=5", "https://api.example.com/items?access_token=REDACTED&limit=5"},
		{"https://api.example.com/items?Signature=x&X-Amz-Credential=y", "https://api.example.com/items?Signature=REDACTED&X-Amz-Credential=REDACTED"},
		{"https://user:pw@api.example.com/x", "https://REDACTED@api.example.com/x"},
		{"https://api.example.com/s3cr3t-token/items", "https://api.example.com/REDACTED/items"},
		{"https://api.example.com/items?q=a+b%2Fc", "https://api.example.com/items?q=REDACTED"},
		{"https://api.example.com/items?q=a%20b%2Fc", "https://api.example.com/items?q=REDACTED"},
		{"https://api.example.com/items#frag-s3cr3t-token", "https://api.example.com/items"},
		{"https://api.example.com/items?token=", "https://api.example.com/items?token="},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := sec.redactURL(tt.in); got != tt.want {
				t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"TOKEN": "t0k", "EMPTY": "", "B": "bee"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want, err string
	}{
		{"Bearer ${TOKEN}", "Bearer t0k", ""},
		{"${TOKEN}${B}", "t0kbee", ""},
		{"no refs, $TOKEN stays", "no refs, $TOKEN stays", ""},
		{"${MISSING}", "", "environment variable MISSING is not set or empty"},
		{"${EMPTY}", "", "environment variable EMPTY is not set or empty"},
		{"${1BAD}", "", "${1BAD} is not a valid variable reference"},
		{"x ${TOKEN", "", "unclosed ${ in a variable reference"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sec := &secrets{}
			got, err := expandEnv(tt.in, lookup, sec)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("expandEnv(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("expandEnv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	sec := &secrets{}
	if _, err := expandEnv("${TOKEN}", lookup, sec); err != nil {
		t.Fatal(err)
	}
	if got := sec.scrub("token is t0k"); got != "token is REDACTED" {
		t.Errorf("an expanded value is not a secret: scrub gave %q", got)
	}
}

func TestSetQuery(t *testing.T) {
	tests := []struct {
		q    string
		n    int
		want string
	}{
		{"", 1, "page=1"},
		{"limit=50", 2, "limit=50&page=2"},
		{"page=7&limit=50", 3, "limit=50&page=3"},
		{"a=1&page=7&page=8&b=${X}", 4, "a=1&b=${X}&page=4"},
	}
	for _, tt := range tests {
		if got := setQuery(tt.q, "page", tt.n); got != tt.want {
			t.Errorf("setQuery(%q, page, %d) = %q, want %q", tt.q, tt.n, got, tt.want)
		}
	}
}

// FuzzUnquoteJSON checks the string unquoting that keeps invalid UTF-8
// against encoding/json, which agrees with it on every valid string.
func FuzzUnquoteJSON(f *testing.F) {
	for _, s := range []string{"", "abc", `a\"b`, "é\t\n", "\U0001F600", "\\u00e9", `\ud83d\ude00`, `\ud800`, `\udc00x`, `\ud800\u0041`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// As a Go string, marshalled: every valid string round-trips.
		if utf8.ValidString(s) {
			q, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := unquoteJSON(q); got != s {
				t.Fatalf("unquoteJSON(%s) = %q, want %q", q, got, s)
			}
		}
		// As JSON source text: where it is a valid literal without invalid
		// UTF-8, encoding/json's reading is the reference.
		lit := []byte(`"` + s + `"`)
		var want string
		if json.Valid(lit) && utf8.Valid(lit) && json.Unmarshal(lit, &want) == nil {
			if got := unquoteJSON(lit); got != want {
				t.Fatalf("unquoteJSON(%s) = %q, encoding/json gives %q", lit, got, want)
			}
		}
	})
}
