package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
)

// TestSortTuneRows: the radix sort orders rows by key_id and keeps every
// row (the order of rows of one key_id is free), on sizes either side of
// its cut-over, on key_ids that share their high or low bytes, and reuses
// or grows its scratch.
func TestSortTuneRows(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	ids := map[string]func() int64{
		"random 63-bit": func() int64 { return rnd.Int64() },
		"small":         func() int64 { return rnd.Int64N(300) },
		"high bytes":    func() int64 { return rnd.Int64N(1<<20) << 40 },
		"few":           func() int64 { return []int64{0, 1 << 62, 12345}[rnd.IntN(3)] },
	}
	var scratch []tuneRow
	for name, id := range ids {
		for _, n := range []int{0, 1, 100, 1<<12 - 1, 1 << 12, 50_000} {
			rows := make([]tuneRow, n)
			for i := range rows {
				rows[i] = tuneRow{keyID: id(), checkSystem: uint64(i)}
			}
			byIDThenCheck := func(a, b tuneRow) int {
				return cmp.Or(cmp.Compare(a.keyID, b.keyID), cmp.Compare(a.checkSystem, b.checkSystem))
			}
			want := slices.Clone(rows)
			slices.SortFunc(want, byIDThenCheck)
			scratch = sortTuneRows(rows, scratch)
			if !slices.IsSortedFunc(rows, func(a, b tuneRow) int { return cmp.Compare(a.keyID, b.keyID) }) {
				t.Errorf("%s, %d rows: not sorted by key_id", name, n)
			}
			slices.SortFunc(rows, byIDThenCheck)
			if !slices.Equal(rows, want) {
				t.Errorf("%s, %d rows: rows lost or changed", name, n)
			}
		}
	}
}

// TestDetailRawKey: detailRawKey reads the raw key that detailField reads,
// whatever bytes it holds, and refuses a malformed detail.
func TestDetailRawKey(t *testing.T) {
	for _, raw := range []string{"", "K1", "a:b:c", "12:34", "nul\x00inside", "é ü", strings.Repeat("x", 300)} {
		r := keysync.Row{Record: 42, RawKey: raw, EntityType: "e:1", LocationRef: "", LastSeenAt: "2024-01-01T00:00:00Z"}
		detail := appendDetail(nil, &r)
		got, err := detailRawKey(detail)
		if err != nil || string(got) != raw {
			t.Errorf("detailRawKey(%q) = %q, %v; want %q", detail, got, err, raw)
		}
		want, err := detailField(string(detail), "raw_key")
		if err != nil || want != raw {
			t.Errorf("detailField(%q, raw_key) = %q, %v; want %q", detail, want, err, raw)
		}
	}
	for _, bad := range []string{"", "1:2:3", "1:x:0:0:ab", "1:9:0:0:short", "1:-1:0:0:", "1::0:0:", "1:99999999999999999999:0:0:"} {
		if got, err := detailRawKey(bad); err == nil {
			t.Errorf("detailRawKey(%q) = %q, want an error", bad, got)
		}
	}
}

// TestTuneQueryStreams: counting by hash reads the tune_rows table in its
// key_id order and groups it as it goes. A plan that sorts millions of rows
// again (a temp B-tree) is what made tune miss its minute.
func TestTuneQueryStreams(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	slot := newTuneSlot()
	defer tuneSlots.Delete(slot)
	if _, err := db.ExecContext(ctx, "CREATE VIRTUAL TABLE temp.tune_rows USING "+tuneRowsModule+"("+slot+")"); err != nil {
		t.Fatal(err)
	}
	q := tuneQueries([]int64{2, 3, 4}, 1)
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.byHash, sql.Named("authority_id", q.authorityID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(plan, func(s string) bool { return strings.Contains(s, "VIRTUAL TABLE") }) ||
		slices.ContainsFunc(plan, func(s string) bool { return strings.Contains(s, "B-TREE") }) {
		t.Errorf("plan of the count by hash:\n%s\nwant a scan of the virtual table and no temp B-tree", strings.Join(plan, "\n"))
	}
	// And it counts: two keys, one in A and B (twice in B), one in C only.
	putTuneRows(slot, []tuneRow{{keyID: 5, checkSystem: 1}, {keyID: 5, checkSystem: 2}, {keyID: 5, checkSystem: 2}, {keyID: 9, checkSystem: 3}})
	var c TuneCounts
	if err := db.QueryRowContext(ctx, q.byHash, sql.Named("authority_id", q.authorityID)).
		Scan(&c.Matched, &c.MissingInA, &c.DuplicateKeys, &c.authorityKeys); err != nil {
		t.Fatal(err)
	}
	if want := (TuneCounts{Matched: 1, MissingInA: 1, DuplicateKeys: 1, authorityKeys: 1}); c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}
	// A slot whose rows were taken out fails the scan instead of counting
	// nothing.
	clearTuneRows(slot)
	err = db.QueryRowContext(ctx, q.byHash, sql.Named("authority_id", q.authorityID)).
		Scan(&c.Matched, &c.MissingInA, &c.DuplicateKeys, &c.authorityKeys)
	if err == nil || !strings.Contains(err.Error(), "holds no rows") {
		t.Errorf("a scan of a cleared slot: %v, want an error saying it holds no rows", err)
	}
}
