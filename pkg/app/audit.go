package app

import (
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/sqlite"
)

// auditEventTypes are every event type keysync writes (the README lists
// them); --type also accepts any other type the log already holds. A type
// the log has never seen is an empty result, not an error.
var auditEventTypes = []keysync.EventType{
	keysync.EventRunStarted, keysync.EventRunSucceeded, keysync.EventRunFailed, keysync.EventRunBlocked,
	keysync.EventMasterKeyProposed, keysync.EventMasterKeyApproved, keysync.EventMasterKeyDeprecated,
	sqlite.EventSuppressionAdded, sqlite.EventSuppressionRemoved,
	sqlite.EventNotificationSent, sqlite.EventNotificationFailed,
}

func auditCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "show the audit log: runs and registry changes",
		Description: `Prints audit events oldest first, with the fields of audit_log.csv
(event_id, run_id, event_type, payload, created_at). run_id is empty for the
events of operator commands (registry approve, deprecate). Filters combine:

  --run ID      events of that run only
  --type T      run_started, run_succeeded, run_failed, run_blocked,
                master_key_proposed, master_key_approved, master_key_deprecated,
                suppression_added, suppression_removed, notification_sent,
                notification_failed (none of that type yet: empty, exit 0)
  --since TIME  events at or after TIME: RFC 3339 (2024-06-01T02:00:00Z,
                2024-06-01T04:00:00+02:00) or a date, YYYY-MM-DD (midnight UTC)
  --limit N     the newest N events that pass the filters (default 100; 0: all)

Examples:
  keysync audit
  keysync audit --type master_key_approved --since 2024-06-01
  keysync audit --run 41 --format json
  keysync audit --limit 0 --format csv > audit.csv`,
		Flags: append(dbFlags(),
			historyRunFlag("only events of run `ID`"),
			&cli.StringFlag{Name: "type", Usage: "only events of `TYPE`"},
			&cli.StringFlag{Name: "since", Usage: "only events at or after `TIME` (RFC 3339 or YYYY-MM-DD)"},
			&cli.IntFlag{Name: "limit", Value: 100, Usage: "the newest `N` events (0: all)"},
			formatFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("audit takes no arguments, got %q", c.Args().Slice())
			}
			f := sqlite.AuditFilter{Type: keysync.EventType(c.String("type")), Limit: c.Int("limit")}
			if f.Limit < 0 {
				return usageErrorf("--limit: %d is negative (0 shows every event)", f.Limit)
			}
			if s := c.String("since"); s != "" {
				t, err := parseSince(s)
				if err != nil {
					return err
				}
				f.Since = sqlite.FormatTime(t)
			}
			h, err := openHistory(c, env)
			if err != nil {
				return err
			}
			defer h.Close()
			if c.IsSet("run") {
				run, err := h.run(c.Context, c.Int64("run"))
				if err != nil {
					return err
				}
				f.RunID = run.RunID
			}
			if f.Type != "" {
				if err := h.checkEventType(c, f.Type); err != nil {
					return err
				}
			}
			events, err := h.r.AuditEvents(c.Context, f)
			if err != nil {
				return err
			}
			if len(events) == 0 {
				h.log.Info("no audit events match", "database", h.Path())
				if h.format == "table" {
					return nil
				}
			}
			return writeRows(env.Stdout, h.format, events)
		},
	}
}

// parseSince reads --since: an RFC 3339 time, or a YYYY-MM-DD date meaning
// its midnight UTC. The log stores whole seconds, so a fractional time is
// rounded up: "after 12:00:00.5" does not include 12:00:00.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Truncate(time.Second) != t {
			t = t.Truncate(time.Second).Add(time.Second)
		}
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageErrorf("--since: %q is not an RFC 3339 time (2024-06-01T02:00:00Z) or a date (2024-06-01)", s)
}

// checkEventType refuses a --type that keysync never writes and the log does
// not hold, so a typo does not read as "nothing happened".
func (h *historyDB) checkEventType(c *cli.Context, t keysync.EventType) error {
	if slices.Contains(auditEventTypes, t) {
		return nil
	}
	inLog, err := h.r.EventTypes(c.Context)
	if err != nil {
		return err
	}
	if slices.Contains(inLog, t) {
		return nil
	}
	names := make([]string, len(auditEventTypes))
	for i, k := range auditEventTypes {
		names[i] = string(k)
	}
	return usageErrorf("--type: %q is not an event type (%s)", t, strings.Join(names, ", "))
}
