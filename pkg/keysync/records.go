package keysync

// The record types below are the rows of the report artifacts (SPEC §7). Their
// csv and json tags are the column names; the field order is the column order.
// Reports may gain trailing columns, never inserted or renamed ones.

// SummaryRow is one row of reconciliation_summary.csv and of the run_systems table.
type SummaryRow struct {
	RunID             int64  `csv:"run_id" json:"run_id"`
	System            string `csv:"system" json:"system"`
	Role              Role   `csv:"role" json:"role"`
	RowsRead          int64  `csv:"rows_read" json:"rows_read"`
	RowsRejected      int64  `csv:"rows_rejected" json:"rows_rejected"`
	DistinctKeys      int64  `csv:"distinct_keys" json:"distinct_keys"`
	DuplicateKeys     int64  `csv:"duplicate_keys" json:"duplicate_keys"`
	Matched           int64  `csv:"matched" json:"matched"`
	MissingInA        int64  `csv:"missing_in_A" json:"missing_in_A"`
	MissingFromSystem int64  `csv:"missing_from_system" json:"missing_from_system"`
	// Pending counts keys of the authority the peer lacks that are still
	// within grace_period; Suppressed, findings silenced by a suppression.
	// Both were appended to the SPEC §7 columns.
	Pending    int64 `csv:"pending" json:"pending"`
	Suppressed int64 `csv:"suppressed" json:"suppressed"`
	// Filtered counts rows the row rules accepted but the source's filter
	// left out of the comparison; rows_read = accepted + rows_rejected, and
	// filtered is part of the accepted. Appended after suppressed.
	Filtered int64 `csv:"filtered" json:"filtered"`
}

// MissingInA is one row of diff_missing_in_A.csv: a key of a peer that the
// authority lacks, with the master key proposed for it.
type MissingInA struct {
	RunID       int64  `csv:"run_id" json:"run_id"`
	System      string `csv:"system" json:"system"`
	SourceKey   string `csv:"source_key" json:"source_key"`
	Key         string `csv:"key" json:"key"`
	MasterKey   string `csv:"master_key" json:"master_key"`
	Status      string `csv:"status" json:"status"`
	EntityType  string `csv:"entity_type" json:"entity_type"`
	LocationRef string `csv:"location_ref" json:"location_ref"`
	LastSeenAt  string `csv:"last_seen_at" json:"last_seen_at"`
}

// MissingFromSystem is one row of diff_missing_from_system.csv: a key of the
// authority that a peer lacks. MasterKey is the authority's normalized key and
// SourceKey its first-seen raw key.
type MissingFromSystem struct {
	RunID       int64  `csv:"run_id" json:"run_id"`
	System      string `csv:"system" json:"system"`
	MasterKey   string `csv:"master_key" json:"master_key"`
	SourceKey   string `csv:"source_key" json:"source_key"`
	EntityType  string `csv:"entity_type" json:"entity_type"`
	LocationRef string `csv:"location_ref" json:"location_ref"`
	LastSeenAt  string `csv:"last_seen_at" json:"last_seen_at"`
}

// RegistryEntry is one master key of the registry (master_key_registry.csv).
type RegistryEntry struct {
	MasterKey    string `csv:"master_key" json:"master_key"`
	SourceSystem string `csv:"source_system" json:"source_system"`
	SourceKey    string `csv:"source_key" json:"source_key"`
	Status       Status `csv:"status" json:"status"`
	CreatedAt    string `csv:"created_at" json:"created_at"`
	UpdatedAt    string `csv:"updated_at" json:"updated_at"`
}

// AuditEvent is one row of the audit log. RunID is 0 for events of operator
// commands, which belong to no run (written as an empty field).
type AuditEvent struct {
	EventID   int64      `csv:"event_id" json:"event_id"`
	RunID     OptionalID `csv:"run_id" json:"run_id"`
	EventType EventType  `csv:"event_type" json:"event_type"`
	Payload   Payload    `csv:"payload" json:"payload"`
	CreatedAt string     `csv:"created_at" json:"created_at"`
}

// Exception is one row of exceptions.csv: a duplicate key (Count = rows,
// Detail = distinct raw keys in first-seen order joined by " | ", Cause why
// its rows share the key) or a master key conflict (Count = 1, Detail = the
// master key, Cause empty).
type Exception struct {
	RunID  int64          `csv:"run_id" json:"run_id"`
	Kind   FindingKind    `csv:"kind" json:"kind"`
	System string         `csv:"system" json:"system"`
	Key    string         `csv:"key" json:"key"`
	Count  int64          `csv:"count" json:"count"`
	Detail string         `csv:"detail" json:"detail"`
	Cause  DuplicateCause `csv:"cause" json:"cause"`
}

// DuplicateCause says why a duplicate's rows share one normalized key.
type DuplicateCause string

// The causes of a duplicate (issue [explain]).
const (
	// CauseRepeated: every row has the same raw spelling; the source itself
	// repeats the key.
	CauseRepeated DuplicateCause = "repeated"
	// CauseNormalized: two or more raw spellings, none on more than one row;
	// normalization made them one key.
	CauseNormalized DuplicateCause = "normalized"
	// CauseMixed: some spelling repeats and there are others besides.
	CauseMixed DuplicateCause = "mixed"
)

// CauseOf is the cause of a duplicate of rows rows with spellings distinct
// raw spellings (rows >= 2, 1 <= spellings <= rows).
func CauseOf(rows, spellings int64) DuplicateCause {
	switch spellings {
	case 1:
		return CauseRepeated
	case rows:
		return CauseNormalized
	}
	return CauseMixed
}

// RejectedRow is one row of rejected_rows.csv.
type RejectedRow struct {
	RunID  int64        `csv:"run_id" json:"run_id"`
	System string       `csv:"system" json:"system"`
	Record int64        `csv:"record" json:"record"`
	RawKey string       `csv:"raw_key" json:"raw_key"`
	Reason RejectReason `csv:"reason" json:"reason"`
}
