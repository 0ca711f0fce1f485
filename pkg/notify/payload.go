package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/sqlite"
)

// TopFindings is how many rows of each report a payload carries at most.
const TopFindings = 10

// Payload is the JSON body POSTed to the webhook. Every field is always
// present; what a run does not have is null (or [] for systems).
//
// Text is a one-line summary for chat services whose incoming webhooks
// display a "text" field (Slack, Mattermost, Rocket.Chat). KPIs, Systems
// and TopFindings are those of a run that committed its results; they are
// null (Systems []) for a run that failed or was blocked. TopFindings holds
// the first TopFindings rows of diff_missing_in_A, diff_missing_from_system
// and exceptions, in report order, with the reports' field names; the KPIs
// give their full counts.
type Payload struct {
	Text        string               `json:"text"`
	RunID       *int64               `json:"run_id"` // null when the run failed before it was recorded
	Status      keysync.RunStatus    `json:"status"` // succeeded, failed or blocked
	Mode        keysync.RunMode      `json:"mode"`   // normal or dry-run
	Host        string               `json:"host"`
	Config      string               `json:"config"`
	StartedAt   string               `json:"started_at"`  // RFC 3339 UTC
	FinishedAt  string               `json:"finished_at"` // RFC 3339 UTC
	DurationMs  int64                `json:"duration_ms"`
	Errors      string               `json:"errors"` // what went wrong; "" for a run that succeeded
	Blocked     *Blocked             `json:"blocked"`
	KPIs        *KPIs                `json:"kpis"`
	Systems     []keysync.SummaryRow `json:"systems"`
	TopFindings *Findings            `json:"top_findings"`
}

// Blocked names the safety guard that blocked a run, and the source it
// tripped on ("" for max_new_proposals).
type Blocked struct {
	Guard  string `json:"guard"`
	System string `json:"system"`
}

// KPIs are the counts of SPEC §9, with the names of the runs table.
type KPIs struct {
	MissingInACount        int64    `json:"missing_in_A_count"`
	MissingFromSystemCount int64    `json:"missing_from_system_count"`
	DuplicateKeysCount     int64    `json:"duplicate_keys_count"`
	AutoApprovalRate       *float64 `json:"auto_approval_rate"`
}

// Findings are the first rows of a run's finding reports.
type Findings struct {
	MissingInA        []keysync.MissingInA        `json:"missing_in_A"`
	MissingFromSystem []keysync.MissingFromSystem `json:"missing_from_system"`
	Exceptions        []keysync.Exception         `json:"exceptions"`
}

// payload builds the notification of r. The run's row, when there is one,
// is the source of truth: its timestamps, and for a run that committed, its
// KPIs, per-system summary and first findings. A read that fails leaves its
// part out (with a warning): a partial notification beats none.
func (n *Notifier) payload(ctx context.Context, db *sqlite.DB, r Run) Payload {
	p := Payload{
		Status:     r.Status(),
		Mode:       r.Result.Mode,
		Host:       n.host,
		Config:     r.Config,
		StartedAt:  sqlite.FormatTime(r.Started),
		FinishedAt: sqlite.FormatTime(r.Finished),
		DurationMs: r.Finished.Sub(r.Started).Milliseconds(),
		Systems:    []keysync.SummaryRow{},
	}
	if p.Mode == "" {
		p.Mode = r.Mode
	}
	if r.Err != nil {
		p.Errors = r.Err.Error()
	}
	var blocked *reconcile.BlockedError
	if errors.As(r.Err, &blocked) {
		p.Blocked = &Blocked{Guard: blocked.Guard, System: blocked.System}
	}
	if id := r.Result.RunID; id > 0 {
		p.RunID = &id
		if db != nil {
			n.fromStore(ctx, db.Reader(), id, &p)
		}
	}
	p.Text = summaryLine(p)
	return p
}

// fromStore fills in p from the database's record of run id.
func (n *Notifier) fromStore(ctx context.Context, rd *sqlite.Reader, id int64, p *Payload) {
	warn := func(what string, err error) {
		n.log.Warn("notification: cannot read "+what+"; sending without it", "run_id", id, "err", err.Error())
	}
	rec, err := rd.Run(ctx, id)
	if err != nil {
		warn("the run", err)
		return
	}
	p.StartedAt = rec.StartedAt
	if rec.FinishedAt != "" {
		p.FinishedAt = rec.FinishedAt
	}
	if rec.DurationMs.Valid {
		p.DurationMs = rec.DurationMs.Int64
	}
	if rec.Status != keysync.RunSucceeded {
		return // a failed or blocked run keeps no summary or findings
	}
	k := &KPIs{
		MissingInACount:        rec.MissingInACount.Int64,
		MissingFromSystemCount: rec.MissingFromSystemCount.Int64,
		DuplicateKeysCount:     rec.DuplicateKeysCount.Int64,
	}
	if rec.AutoApprovalRate.Valid {
		rate := rec.AutoApprovalRate.Float64
		k.AutoApprovalRate = &rate
	}
	p.KPIs = k
	if summary, err := rd.Summary(ctx, id); err != nil {
		warn("the summary", err)
	} else {
		p.Systems = summary
	}
	var f Findings
	if f.MissingInA, err = rd.FirstMissingInA(ctx, id, TopFindings); err != nil {
		warn("missing_in_A", err)
		return
	}
	if f.MissingFromSystem, err = rd.FirstMissingFromSystem(ctx, id, TopFindings); err != nil {
		warn("missing_from_system", err)
		return
	}
	if f.Exceptions, err = rd.FirstExceptions(ctx, id, TopFindings); err != nil {
		warn("exceptions", err)
		return
	}
	p.TopFindings = &f
}

// summaryLine is Payload.Text: what a person reads in a chat channel.
func summaryLine(p Payload) string {
	var b strings.Builder
	b.WriteString("keysync")
	if p.RunID != nil {
		fmt.Fprintf(&b, " run %d", *p.RunID)
	} else {
		b.WriteString(" run")
	}
	if p.Mode == keysync.ModeDryRun {
		b.WriteString(" (dry-run)")
	}
	if p.Host != "" {
		fmt.Fprintf(&b, " on %s", p.Host)
	}
	fmt.Fprintf(&b, " %s", p.Status)
	switch {
	case p.Status == keysync.RunSucceeded && p.KPIs != nil:
		fmt.Fprintf(&b, ": %d missing in A, %d missing from systems, %d duplicate keys",
			p.KPIs.MissingInACount, p.KPIs.MissingFromSystemCount, p.KPIs.DuplicateKeysCount)
	case p.Errors != "":
		b.WriteString(": ")
		b.WriteString(p.Errors)
	}
	return b.String()
}
