package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Outcomes a notification can be sent on (notify.on).
const (
	NotifyFailure  = "failure"  // the run failed
	NotifyBlocked  = "blocked"  // a safety guard blocked the run
	NotifyFindings = "findings" // the run succeeded and found something
	NotifyAlways   = "always"   // every run, whatever its outcome
)

// Defaults and bounds of the notify section.
const (
	DefaultNotifyTimeout = 10 * time.Second
	DefaultNotifyRetries = 2
	MaxNotifyTimeout     = 5 * time.Minute
	MaxNotifyRetries     = 10
)

// notifyOutcomes lists the values notify.on accepts, in the order the
// documentation gives them.
var notifyOutcomes = []string{NotifyFailure, NotifyBlocked, NotifyFindings, NotifyAlways}

// Notify is the optional notify section: after each sync whose outcome is in
// On, a JSON summary is POSTed to Webhook. The zero value sends nothing.
type Notify struct {
	// Webhook is the URL as written in the file, with its ${NAME} references
	// unexpanded. URL expands them when a notification is sent, so the secret
	// a variable holds never sits in a Config, and an unset variable fails
	// that notification (logged and audited) instead of every command.
	Webhook string
	On      []string      // outcomes to notify on; default failure and blocked
	Timeout time.Duration // for each attempt; default 10s
	Retries int           // attempts after the first one fails; default 2
}

// Enabled reports whether a webhook is configured.
func (n Notify) Enabled() bool { return n.Webhook != "" }

// Has reports whether outcome is one of n.On.
func (n Notify) Has(outcome string) bool {
	for _, o := range n.On {
		if o == outcome {
			return true
		}
	}
	return false
}

// URL is the webhook with every ${NAME} replaced by the value of that
// environment variable, as lookup (os.LookupEnv) finds it. It fails when a
// variable is unset or the result is not an http or https URL with a host.
// Errors never hold the URL but in its redacted form (RedactURL).
func (n Notify) URL(lookup func(string) (string, bool)) (string, error) {
	s, err := expandVars(n.Webhook, lookup)
	if err != nil {
		return "", fmt.Errorf("notify.webhook: %w", err)
	}
	if err := checkWebhook(s); err != nil {
		return "", fmt.Errorf("notify.webhook: %s %v", RedactURL(s), err)
	}
	return s, nil
}

// RedactURL renders a webhook URL fit for logs, errors and the audit log:
// the scheme and host stay, while the user info, the path and the query are
// replaced by REDACTED and a fragment is dropped. The path goes too because
// common webhook services (Slack, Discord, Teams) carry their token in it.
// Text that does not parse as an http or https URL with a host is REDACTED
// as a whole.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || strings.ContainsAny(u.Host, "${}") || u.Scheme != "http" && u.Scheme != "https" {
		return "REDACTED"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host}
	if u.User != nil {
		r.User = url.User("REDACTED")
	}
	if u.Path != "" && u.Path != "/" || u.RawPath != "" || u.Opaque != "" {
		r.Path = "/REDACTED"
	}
	if u.RawQuery != "" || u.ForceQuery {
		r.RawQuery = "REDACTED"
	}
	return r.String()
}

// rawNotify mirrors the notify section of the file.
type rawNotify struct {
	Webhook *string   `yaml:"webhook"`
	On      *[]string `yaml:"on"`
	Timeout *string   `yaml:"timeout"`
	Retries *int      `yaml:"retries"`
}

// config applies the defaults to the notify section and checks it; a nil
// section (none in the file) is the zero Notify. Everything is checked here
// rather than in Validate, so this feature stays in this file.
func (r *rawNotify) config() (Notify, error) {
	if r == nil {
		return Notify{}, nil
	}
	n := Notify{
		On:      []string{NotifyFailure, NotifyBlocked},
		Timeout: DefaultNotifyTimeout,
		Retries: DefaultNotifyRetries,
	}
	if r.Webhook != nil {
		n.Webhook = strings.TrimSpace(*r.Webhook)
	}
	if r.On != nil {
		n.On = append([]string(nil), *r.On...)
	}
	if r.Timeout != nil {
		d, err := time.ParseDuration(strings.TrimSpace(*r.Timeout))
		if err != nil {
			return Notify{}, errorf("notify.timeout", *r.Timeout, "is not a duration (like 10s or 1m)")
		}
		n.Timeout = d
	}
	setIf(&n.Retries, r.Retries)
	if err := n.Validate(); err != nil {
		return Notify{}, err
	}
	return n, nil
}

// Validate reports the first problem with a configured notify section as an
// *Error; the zero Notify (no section) is valid. The webhook is checked as
// far as the file decides it: its ${NAME} references must be well formed,
// and without any it must be an http or https URL. Values shown in errors are
// redacted.
func (n Notify) Validate() error {
	if n.Webhook == "" {
		if n.On == nil && n.Timeout == 0 && n.Retries == 0 {
			return nil
		}
		return errorf("notify.webhook", "", "is required (the URL to POST the run summary to)")
	}
	vars, err := parseVars(n.Webhook)
	if err != nil {
		return errorf("notify.webhook", RedactURL(n.Webhook), "%v", err)
	}
	if len(vars) == 0 {
		if err := checkWebhook(n.Webhook); err != nil {
			return errorf("notify.webhook", RedactURL(n.Webhook), "%v", err)
		}
	}
	if len(n.On) == 0 {
		return errorf("notify.on", "", "must list at least one of %s (leave notify: out to send nothing)",
			strings.Join(notifyOutcomes, ", "))
	}
	seen := make(map[string]bool, len(n.On))
	for _, o := range n.On {
		if !isOutcome(o) {
			return errorf("notify.on", o, "is not an outcome (want %s)", strings.Join(notifyOutcomes, ", "))
		}
		if seen[o] {
			return errorf("notify.on", o, "is listed twice")
		}
		seen[o] = true
	}
	if n.Timeout <= 0 || n.Timeout > MaxNotifyTimeout {
		return errorf("notify.timeout", n.Timeout.String(), "must be more than 0s and at most %s", MaxNotifyTimeout)
	}
	if n.Retries < 0 || n.Retries > MaxNotifyRetries {
		return errorf("notify.retries", strconv.Itoa(n.Retries), "must be between 0 and %d", MaxNotifyRetries)
	}
	return nil
}

func isOutcome(s string) bool {
	for _, o := range notifyOutcomes {
		if s == o {
			return true
		}
	}
	return false
}

// checkWebhook accepts an absolute http or https URL with a host. Its errors
// never quote the URL.
func checkWebhook(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // a *url.Error quotes the whole URL
		}
		return fmt.Errorf("is not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("is not an http or https URL")
	}
	if u.Host == "" {
		return fmt.Errorf("has no host")
	}
	return nil
}

// parseVars returns the names of the ${NAME} references in s, NAME being an
// ASCII letter or _ followed by letters, digits and _. A $ not followed by {
// is an ordinary character.
func parseVars(s string) ([]string, error) {
	var names []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) || s[i+1] != '{' {
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return nil, fmt.Errorf("has a ${ without its closing }")
		}
		name := s[i+2 : i+2+end]
		if !validVarName(name) {
			// The text is not quoted: it may be a pasted secret.
			return nil, fmt.Errorf("has a ${...} that is not an environment variable reference (want ${NAME}, NAME of letters, digits and _)")
		}
		names = append(names, name)
		i += 2 + end
	}
	return names, nil
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		letter := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// expandVars replaces every ${NAME} in s with lookup(NAME); an unset
// variable is an error naming it (never its value).
func expandVars(s string, lookup func(string) (string, bool)) (string, error) {
	if _, err := parseVars(s); err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte(s[i])
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		name := s[i+2 : i+2+end]
		v, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(v)
		i += 2 + end
	}
	return b.String(), nil
}
