package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/source"
	"github.com/keysync/keysync/pkg/sqlite"
)

// benchSystems generates n rows for each of A (the authority) and peers B … E:
// each peer lacks 5% of A's keys, has 5% of its own and repeats 2% of its rows.
func benchSystems(n int) ([]sqlite.StagingSystem, map[string][]keysync.Row) {
	names := []string{"A", "B", "C", "D", "E"}
	systems := make([]sqlite.StagingSystem, len(names))
	rows := map[string][]keysync.Row{}
	for s, name := range names {
		role := keysync.RolePeer
		if s == 0 {
			role = keysync.RoleAuthority
		}
		systems[s] = sqlite.StagingSystem{Name: name, Role: role}
		rs := make([]keysync.Row, n)
		for i := range n {
			key := fmt.Sprintf("INV-%08d", i)
			switch {
			case s > 0 && (i+s)%20 == 0:
				key = fmt.Sprintf("%s-%08d", name, i) // not in A
			case s > 0 && i%50 == 1:
				key = fmt.Sprintf("INV-%08d", i-1) // a duplicate; A's key i is missing here
			}
			rs[i] = keysync.Row{Record: int64(i + 1), Key: key, RawKey: "inv_" + key[4:],
				EntityType: "Invoice", LocationRef: fmt.Sprintf("WH-%d", i%7), LastSeenAt: "2024-01-01T00:00:00Z"}
		}
		rows[name] = rs
	}
	return systems, rows
}

// BenchmarkStageAndFinish measures a run's store work: StartRun, staging 5
// systems × 100k rows in batches of 4096 as reconcile sends them, and the
// final commit with its findings and registry changes. The database is reused
// across iterations, so later runs also exercise an existing registry.
//
//	go test -run '^$' -bench BenchmarkStageAndFinish -benchtime 5x ./pkg/sqlite/
func BenchmarkStageAndFinish(b *testing.B) {
	const perSystem = 100_000
	const batch = 4096
	systems, rows := benchSystems(perSystem)
	db := MustOpenDB(b)
	ctx := context.Background()

	total := 0
	for _, rs := range rows {
		total += len(rs)
	}
	var iterations int
	for b.Loop() {
		runID, err := db.StartRun(ctx, keysync.ModeNormal, "")
		if err != nil {
			b.Fatal(err)
		}
		st, err := db.BeginStaging(ctx, runID, systems)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range systems {
			rs := rows[s.Name]
			for i := 0; i < len(rs); i += batch {
				if err := st.AddRows(ctx, s.Name, rs[i:min(i+batch, len(rs))]); err != nil {
					b.Fatal(err)
				}
			}
			if err := st.SetStats(ctx, s.Name, source.Stats{RowsRead: int64(len(rs))}, 0); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := st.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		kpis, err := db.FinishRun(ctx, sqlite.Finish{RunID: runID, Authority: "A", Strategy: keysync.StrategyMirror})
		if err != nil {
			b.Fatal(err)
		}
		if kpis.MissingInA == 0 || kpis.MissingFromSystem == 0 || kpis.DuplicateKeys == 0 {
			b.Fatalf("KPIs %+v: the generated input should have findings of every kind", kpis)
		}
		iterations++
	}
	b.ReportMetric(float64(total*iterations)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkTune measures Tune: the comparison of a staged run of
// 5 systems × 100k rows redone with 10 option sets (the defaults with
// pad_numbers 8, and the single changes tune tries), read-only.
//
//	go test -run '^$' -bench BenchmarkTune -benchtime 3x ./pkg/sqlite/
func BenchmarkTune(b *testing.B) {
	const perSystem = 100_000
	systems, rows := benchSystems(perSystem)
	for _, rs := range rows {
		for i := range rs {
			// A raw spelling that normalizes back to the key, as a real one does.
			rs[i].RawKey = strings.ToLower(strings.ReplaceAll(rs[i].Key, "-", "_"))
		}
	}
	db := MustOpenDB(b)
	ctx := context.Background()
	runID, err := db.StartRun(ctx, keysync.ModeNormal, "")
	if err != nil {
		b.Fatal(err)
	}
	st, err := db.BeginStaging(ctx, runID, systems)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range systems {
		if err := st.AddRows(ctx, s.Name, rows[s.Name]); err != nil {
			b.Fatal(err)
		}
		if err := st.SetStats(ctx, s.Name, source.Stats{RowsRead: int64(len(rows[s.Name]))}, 0); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.FinishRun(ctx, sqlite.Finish{RunID: runID, Authority: "A", Strategy: keysync.StrategyMirror}); err != nil {
		b.Fatal(err)
	}
	if ok, err := db.AttachStagingOf(ctx, runID); err != nil || !ok {
		b.Fatalf("attach the staging files of run %d: %v, %v", runID, ok, err)
	}
	cur := normalize.Defaults()
	cur.PadNumbers = 8
	variants := []normalize.Options{cur}
	for _, fn := range []func(*normalize.Options){
		func(o *normalize.Options) { o.Uppercase = false },
		func(o *normalize.Options) { o.StripNonAlnum = false },
		func(o *normalize.Options) { o.CollapseDelims = "" },
		func(o *normalize.Options) { o.PadNumbers = 0 },
		func(o *normalize.Options) { o.PadNumbers = 4 },
		func(o *normalize.Options) { o.PadNumbers = 6 },
		func(o *normalize.Options) { o.PadNumbers = 10 },
		func(o *normalize.Options) { o.PadNumbers = 12 },
		func(o *normalize.Options) { o.PadNumbers = 16 },
	} {
		o := cur
		fn(&o)
		variants = append(variants, o)
	}
	for b.Loop() {
		counts, err := db.Tune(ctx, "A", variants)
		if err != nil {
			b.Fatal(err)
		}
		if counts[0].Matched == 0 || counts[0].MissingInA == 0 || counts[0].DuplicateKeys == 0 {
			b.Fatalf("counts %+v: the generated input should have findings of every kind", counts[0])
		}
	}
	b.ReportMetric(float64(len(systems)*perSystem*len(variants))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
