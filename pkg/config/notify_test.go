package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keysync/keysync/pkg/config"
)

func TestNotify_AbsentIsOff(t *testing.T) {
	for name, src := range map[string]string{
		"absent": twoSources,
		"null":   twoSources + "notify:\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := MustParse(t, src)
			if got, want := c.Notify, (config.Notify{}); !reflect.DeepEqual(got, want) {
				t.Errorf("Notify = %+v, want the zero value", got)
			}
			if c.Notify.Enabled() {
				t.Error("Enabled() = true without a notify section")
			}
		})
	}
}

func TestNotify_Defaults(t *testing.T) {
	c := MustParse(t, twoSources+"notify: { webhook: https://hooks.example.com/x }\n")
	want := config.Notify{
		Webhook: "https://hooks.example.com/x",
		On:      []string{config.NotifyFailure, config.NotifyBlocked},
		Timeout: 10 * time.Second,
		Retries: 2,
	}
	if !reflect.DeepEqual(c.Notify, want) {
		t.Errorf("Notify = %+v, want %+v", c.Notify, want)
	}
	if !c.Notify.Enabled() {
		t.Error("Enabled() = false with a webhook")
	}
}

func TestNotify_Values(t *testing.T) {
	// on is a plain key in YAML 1.2 (yaml.v3), not the YAML 1.1 boolean.
	c := MustParse(t, twoSources+`
notify:
  webhook: "https://hooks.example.com/services/${KEYSYNC_TEST_TOKEN}?a=1"
  on: [findings, always]
  timeout: 1m30s
  retries: 0
`)
	want := config.Notify{
		Webhook: "https://hooks.example.com/services/${KEYSYNC_TEST_TOKEN}?a=1",
		On:      []string{config.NotifyFindings, config.NotifyAlways},
		Timeout: 90 * time.Second,
		Retries: 0,
	}
	if !reflect.DeepEqual(c.Notify, want) {
		t.Errorf("Notify = %+v, want %+v", c.Notify, want)
	}
	for _, tc := range []struct {
		outcome string
		want    bool
	}{{config.NotifyFindings, true}, {config.NotifyAlways, true}, {config.NotifyFailure, false}, {config.NotifyBlocked, false}} {
		if got := c.Notify.Has(tc.outcome); got != tc.want {
			t.Errorf("Has(%q) = %v, want %v", tc.outcome, got, tc.want)
		}
	}
}

func TestNotify_Errors(t *testing.T) {
	for _, tc := range []struct {
		name, notify, field, msg string
	}{
		{"no webhook", "{ on: [always] }", "notify.webhook", "is required"},
		{"empty section", "{}", "notify.webhook", "is required"},
		{"empty webhook", `{ webhook: "" }`, "notify.webhook", "is required"},
		{"not http", "{ webhook: ftp://example.com/x }", "notify.webhook", "not an http or https URL"},
		{"relative", "{ webhook: /hooks/x }", "notify.webhook", "not an http or https URL"},
		{"no host", "{ webhook: 'https:///x' }", "notify.webhook", "has no host"},
		{"unclosed variable", "{ webhook: 'https://h.example/${TOKEN' }", "notify.webhook", "without its closing }"},
		{"bad variable name", "{ webhook: 'https://h.example/${1X}' }", "notify.webhook", "not an environment variable reference"},
		{"empty variable name", "{ webhook: 'https://h.example/${}' }", "notify.webhook", "not an environment variable reference"},
		{"unknown outcome", "{ webhook: https://h.example/, on: [failure, sucess] }", "notify.on", "is not an outcome"},
		{"twice", "{ webhook: https://h.example/, on: [failure, failure] }", "notify.on", "listed twice"},
		{"empty on", "{ webhook: https://h.example/, on: [] }", "notify.on", "at least one"},
		{"on not a list", "{ webhook: https://h.example/, on: failure }", "notify.on", "list"},
		{"timeout without unit", "{ webhook: https://h.example/, timeout: 10 }", "notify.timeout", "not a duration"},
		{"timeout zero", "{ webhook: https://h.example/, timeout: 0s }", "notify.timeout", "more than 0s"},
		{"timeout negative", "{ webhook: https://h.example/, timeout: -1s }", "notify.timeout", "more than 0s"},
		{"timeout too long", "{ webhook: https://h.example/, timeout: 1h }", "notify.timeout", "at most"},
		{"retries negative", "{ webhook: https://h.example/, retries: -1 }", "notify.retries", "between 0 and"},
		{"retries too many", "{ webhook: https://h.example/, retries: 11 }", "notify.retries", "between 0 and"},
		{"retries not a number", "{ webhook: https://h.example/, retries: many }", "notify.retries", "integer"},
		{"unknown key", "{ webhook: https://h.example/, url: x }", "notify.url", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(strings.NewReader(twoSources+"notify: "+tc.notify+"\n"), dir)
			e := mustConfigError(t, err, tc.field)
			if !strings.Contains(e.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", e.Error(), tc.msg)
			}
		})
	}
}

// A bad webhook is refused without showing what may be a secret.
func TestNotify_ErrorsRedactTheWebhook(t *testing.T) {
	for _, hook := range []string{
		"ftp://user:s3cret@example.com/s3cret?token=s3cret",
		"https://user:s3cret@/s3cret?token=s3cret",
		"https://h.example/s3cret/${s3cret-}",
		"https://h.example/s3cret/${S3CRET",
		"http://h.example/%zz/s3cret?token=s3cret",
	} {
		_, err := config.Parse(strings.NewReader(twoSources+"notify: { webhook: '"+hook+"' }\n"), dir)
		e := mustConfigError(t, err, "notify.webhook")
		if strings.Contains(e.Error(), "s3cret") || strings.Contains(e.Error(), "S3CRET") {
			t.Errorf("webhook %q: error shows the secret: %v", hook, e)
		}
	}
}

func TestNotify_URL(t *testing.T) {
	env := map[string]string{"HOST": "hooks.example.com", "TOKEN": "s3cret", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		webhook, want, err string
	}{
		{"https://hooks.example.com/x", "https://hooks.example.com/x", ""},
		{"https://${HOST}/services/${TOKEN}?t=${TOKEN}", "https://hooks.example.com/services/s3cret?t=s3cret", ""},
		{"https://hooks.example.com/$TOKEN/a$b", "https://hooks.example.com/$TOKEN/a$b", ""}, // only ${NAME} expands
		{"https://hooks.example.com/x${EMPTY}", "https://hooks.example.com/x", ""},
		{"https://hooks.example.com/${MISSING}", "", "environment variable MISSING is not set"},
		{"${TOKEN}://x", "", "not an http or https URL"},
		{"https://h.example/%zz${TOKEN}", "", "is not a URL"},
		{"https://${EMPTY}/x", "", "has no host"},
	} {
		got, err := config.Notify{Webhook: tc.webhook}.URL(lookup)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("URL(%q): %v", tc.webhook, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("URL(%q) error = %v, want one saying %q", tc.webhook, err, tc.err)
		case got != tc.want:
			t.Errorf("URL(%q) = %q, want %q", tc.webhook, got, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("URL(%q) error shows the secret: %v", tc.webhook, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://hooks.example.com", "https://hooks.example.com"},
		{"https://hooks.example.com/", "https://hooks.example.com"},
		{"https://hooks.example.com:8443/services/T0/B0/XXXX", "https://hooks.example.com:8443/REDACTED"},
		{"https://user:pass@hooks.example.com/x?token=abc#frag", "https://REDACTED@hooks.example.com/REDACTED?REDACTED"},
		{"http://user@127.0.0.1:9/?k=v", "http://REDACTED@127.0.0.1:9?REDACTED"},
		{"https://${HOST}/x", "REDACTED"},
		{"not a url with spaces%zz", "REDACTED"},
		{"", "REDACTED"},
		{"s3cret://x", "REDACTED"},
		{"mailto:someone@example.com", "REDACTED"},
	} {
		if got := config.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
