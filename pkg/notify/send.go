package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keysync/keysync/pkg/config"
)

// delivery is what became of one notification.
type delivery struct {
	url      string // the expanded webhook; never logged as is
	attempts int    // POSTs made
	code     int    // HTTP status of the last answer, 0 when there was none
	err      error  // nil when delivered; its text holds no secret
}

// deliver POSTs p to the webhook, retrying up to cfg.Retries times on a
// network error (a timeout included), 408, 429 and 5xx, with exponential
// backoff. Other answers outside 2xx are final: retrying a 400 or a 404
// cannot help.
func (n *Notifier) deliver(ctx context.Context, p Payload) delivery {
	var d delivery
	u, err := n.cfg.URL(n.lookup)
	if err != nil {
		d.err = err // URL's errors are redacted
		return d
	}
	d.url = u
	body, err := json.Marshal(p)
	if err != nil {
		d.err = fmt.Errorf("encode the payload: %w", err)
		return d
	}
	wait := n.backoff
	for {
		var retry bool
		var after time.Duration
		d.attempts++
		d.code, after, retry, d.err = n.post(ctx, u, body)
		if d.err == nil || !retry || d.attempts > n.cfg.Retries {
			return d
		}
		pause := wait
		if after > pause {
			pause = min(after, maxRetryAfter)
		}
		n.log.Info("notification attempt failed; retrying", "webhook", config.RedactURL(u),
			"attempt", d.attempts, "retry_in", pause, "err", d.err.Error())
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			d.err = fmt.Errorf("%w (retries stopped: %v)", d.err, ctx.Err())
			return d
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// post makes one attempt. It reports the HTTP status (0 without an answer),
// the wait a Retry-After header asks for, and whether another attempt may
// succeed. The attempt runs under its own timeout, detached from ctx's
// cancellation so that an interrupted run still gets its notification out.
func (n *Notifier) post(ctx context.Context, u string, body []byte) (code int, after time.Duration, retry bool, err error) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, 0, false, errors.New("cannot build the request to the webhook")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keysync")
	resp, err := n.client.Do(req)
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) {
			return 0, 0, true, fmt.Errorf("no answer within the timeout of %s", n.cfg.Timeout)
		}
		return 0, 0, true, scrub(err, u)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	code = resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return code, 0, false, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return code, retryAfter(resp.Header.Get("Retry-After"), time.Now()), true,
			fmt.Errorf("the webhook answered %s", resp.Status)
	case code >= 300 && code < 400:
		return code, 0, false, fmt.Errorf("the webhook answered %s (redirects are not followed: configure the final URL)", resp.Status)
	}
	return code, 0, false, fmt.Errorf("the webhook answered %s", resp.Status)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. Anything
// else, or a time in the past, is no wait.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// scrub turns an error of the HTTP client into one that does not hold the
// webhook URL: a *url.Error quotes it whole, secrets included.
func scrub(err error, u string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if strings.Contains(msg, u) {
		msg = strings.ReplaceAll(msg, u, config.RedactURL(u))
	}
	return errors.New(msg)
}
