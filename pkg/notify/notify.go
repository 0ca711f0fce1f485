package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/sqlite"
)

// Run is a finished sync as the command saw it: what a notification is about.
type Run struct {
	// Result is what reconcile.Run returned; its RunID is 0 when the run
	// failed before it was recorded (the database could not be opened or
	// locked, say).
	Result   reconcile.Result
	Err      error           // the run's error; nil when it succeeded
	Mode     keysync.RunMode // from the config, for a run without a row
	Config   string          // the config file
	Started  time.Time       // when the command began the run
	Finished time.Time       // when it returned
}

// Status is the outcome of r: blocked when a safety guard stopped it,
// failed on any other error, succeeded otherwise.
func (r Run) Status() keysync.RunStatus {
	var blocked *reconcile.BlockedError
	switch {
	case r.Err == nil:
		return keysync.RunSucceeded
	case errors.As(r.Err, &blocked):
		return keysync.RunBlocked
	}
	return keysync.RunFailed
}

// HasFindings reports whether r succeeded with anything missing in A,
// missing from a system, or duplicated.
func (r Run) HasFindings() bool {
	k := r.Result.KPIs
	return r.Err == nil && k.MissingInA+k.MissingFromSystem+k.DuplicateKeys > 0
}

// Wants reports whether n asks for a notification of r: on lists its
// outcome (failure, blocked, or findings for a successful run that found
// something), or always.
func Wants(n config.Notify, r Run) bool {
	if n.Has(config.NotifyAlways) {
		return true
	}
	switch r.Status() {
	case keysync.RunFailed:
		return n.Has(config.NotifyFailure)
	case keysync.RunBlocked:
		return n.Has(config.NotifyBlocked)
	}
	return r.HasFindings() && n.Has(config.NotifyFindings)
}

// Notifier sends the notifications of one config's notify section.
type Notifier struct {
	cfg    config.Notify
	log    *slog.Logger
	client *http.Client
	lookup func(string) (string, bool) // the environment, for ${NAME}
	host   string
	// backoff is the wait before the first retry, doubled before each next
	// one up to maxBackoff; a 429 or 503 answer's Retry-After lengthens it.
	backoff time.Duration
}

const (
	defaultBackoff = 500 * time.Millisecond
	maxBackoff     = 30 * time.Second
	// maxRetryAfter bounds how long a Retry-After answer makes us wait.
	maxRetryAfter = time.Minute
	// maxAnswer is how much of an answer's body is read (and discarded), so
	// the connection can be reused without reading an endless body.
	maxAnswer = 64 << 10
)

// New returns the Notifier of cfg, or nil when cfg has no webhook; a nil
// *Notifier sends nothing. log receives what happens to each notification.
func New(cfg config.Notify, log *slog.Logger) *Notifier {
	if !cfg.Enabled() {
		return nil
	}
	host, _ := os.Hostname()
	return &Notifier{
		cfg: cfg,
		log: log,
		client: &http.Client{
			// A webhook that redirects is misconfigured; following it would
			// turn the POST into a GET on most answers.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		lookup:  os.LookupEnv,
		host:    host,
		backoff: defaultBackoff,
	}
}

// AfterRun notifies the webhook of r if its outcome is wanted, then logs and
// audits what happened: a notification_sent or notification_failed event of
// the run (with a NULL run id for a run that had none). db is the run's open
// database, nil when it could not be opened; the summary, KPIs and top
// findings are then left out and nothing is audited.
//
// It never fails: a notification that cannot be delivered is a warning in
// the log. A cancelled ctx (SIGINT, SIGTERM) still lets one attempt through,
// bounded by the timeout, so an interrupted run is reported; it only stops
// the retries.
func (n *Notifier) AfterRun(ctx context.Context, db *sqlite.DB, r Run) {
	if n == nil {
		return
	}
	status := r.Status()
	log := n.log.With("run_id", nullableID(r.Result.RunID), "status", status)
	if !Wants(n.cfg, r) {
		log.Debug("no notification: the outcome is not in notify.on", "on", n.cfg.On)
		return
	}
	p := n.payload(context.WithoutCancel(ctx), db, r)
	d := n.deliver(ctx, p)
	webhook := config.RedactURL(d.url)
	if d.url == "" {
		webhook = config.RedactURL(n.cfg.Webhook)
	}
	event := map[string]any{
		"webhook":     webhook,
		"status":      status,
		"attempts":    d.attempts,
		"http_status": d.code,
	}
	typ := sqlite.EventNotificationSent
	if d.err != nil {
		typ = sqlite.EventNotificationFailed
		event["error"] = d.err.Error()
		log.Warn("notification failed; the run's outcome stands", "webhook", webhook,
			"attempts", d.attempts, "http_status", d.code, "err", d.err.Error())
	} else {
		log.Info("notification sent", "webhook", webhook, "attempts", d.attempts, "http_status", d.code)
	}
	if db == nil {
		log.Info("notification not audited: the database is not open")
		return
	}
	if err := db.AuditNotification(ctx, r.Result.RunID, typ, event); err != nil {
		log.Warn("notification not audited", "event", typ, "err", err.Error())
	}
}

// nullableID is a run id for a log line: nil for 0, so it reads as the
// absence it is.
func nullableID(id int64) any {
	if id <= 0 {
		return nil
	}
	return id
}
