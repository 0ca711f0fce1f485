// Package keysync holds the domain types that every other package speaks:
// a source row, a rejection, a finding, a master key and its status, an audit
// event, and the names of the run's outcomes. It has no dependencies beyond
// the standard library, so any adapter (CSV, SQLite, reports) can import it.
package keysync

// Role says whether a system is the authority or one of its peers.
type Role string

// Roles of a system in a run.
const (
	RoleAuthority Role = "authority"
	RolePeer      Role = "peer"
)

// Status is the lifecycle state of a master key in the registry.
type Status string

// Registry statuses. Proposed → Active → Deprecated; Proposed → Deprecated.
const (
	StatusProposed   Status = "Proposed"
	StatusActive     Status = "Active"
	StatusDeprecated Status = "Deprecated"
)

// CanMove reports whether a registry key may change from s to next.
func (s Status) CanMove(next Status) bool {
	switch {
	case s == StatusProposed && next == StatusActive:
		return true
	case (s == StatusProposed || s == StatusActive) && next == StatusDeprecated:
		return true
	}
	return false
}

// Strategy decides how a master key is derived from a key missing in the authority.
type Strategy string

// Provisioning strategies.
const (
	// StrategyMirror uses the normalized key itself as master key.
	StrategyMirror Strategy = "mirror"
	// StrategyNamespaced prefixes the key with "<authority>-<system>-".
	StrategyNamespaced Strategy = "namespaced"
)

// MasterKey derives the master key proposed for key seen in system (missing in authority).
func (s Strategy) MasterKey(authority, system, key string) string {
	if s == StrategyNamespaced {
		return authority + "-" + system + "-" + key
	}
	return key
}

// RejectReason names why an input row was not accepted. The order of the
// constants is the order in which the rules are checked.
type RejectReason string

// Row-level rejection reasons, in the order they are checked.
const (
	RejectFieldCount     RejectReason = "field_count"
	RejectInvalidUTF8    RejectReason = "invalid_utf8"
	RejectSystemMismatch RejectReason = "system_mismatch"
	RejectBadTimestamp   RejectReason = "bad_timestamp"
	RejectEmptyKey       RejectReason = "empty_key"
)

// Row is one accepted input row: its record number (data records from 1),
// the normalized key, the key as read, and the optional descriptive fields.
// LastSeenAt is RFC 3339 UTC, or empty.
type Row struct {
	Record      int64
	Key         string
	RawKey      string
	EntityType  string
	LocationRef string
	LastSeenAt  string
}

// Rejection is one input row that was not accepted, with the first reason that applied.
// RawKey has invalid UTF-8 replaced by U+FFFD; Line is the physical line in the file
// where the record starts (0 when the source has no lines).
type Rejection struct {
	Record int64
	Line   int64
	RawKey string
	Reason RejectReason
}

// FindingKind classifies one row of the findings table.
type FindingKind string

// Finding kinds. missing_in_A and missing_from_system are the two diffs;
// duplicate and master_key_conflict are the exceptions.
const (
	KindMissingInA        FindingKind = "missing_in_A"
	KindMissingFromSystem FindingKind = "missing_from_system"
	KindDuplicate         FindingKind = "duplicate"
	KindMasterKeyConflict FindingKind = "master_key_conflict"
)

// RunStatus is the state of a run in the pull log.
type RunStatus string

// Run statuses.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunBlocked   RunStatus = "blocked"
	// RunInterrupted is never stored: readers show it for a run whose row
	// is still running although no process holds the run lock (killed
	// before its final commit). The next writer records it failed.
	RunInterrupted RunStatus = "interrupted"
)

// RunMode tells a normal run from a dry run.
type RunMode string

// Run modes.
const (
	ModeNormal RunMode = "normal"
	ModeDryRun RunMode = "dry-run"
)

// EventType names an audit event.
type EventType string

// Audit event types.
const (
	EventRunStarted          EventType = "run_started"
	EventRunSucceeded        EventType = "run_succeeded"
	EventRunFailed           EventType = "run_failed"
	EventRunBlocked          EventType = "run_blocked"
	EventMasterKeyProposed   EventType = "master_key_proposed"
	EventMasterKeyApproved   EventType = "master_key_approved"
	EventMasterKeyDeprecated EventType = "master_key_deprecated"
)

// ByAuto is the actor recorded for changes a run makes on its own.
const ByAuto = "auto"

// KeyChange is the payload of a master_key_* audit event.
type KeyChange struct {
	MasterKey string `json:"master_key"`
	From      string `json:"from"`
	To        string `json:"to"`
	By        string `json:"by"`
	Reason    string `json:"reason,omitempty"`
}
