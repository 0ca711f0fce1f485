package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/sqlite"
)

// tuneOracle counts what Tune should find for opts with Go maps: the raw
// keys of every system normalized with opts, empty keys left out, keys
// compared across systems.
func tuneOracle(systems []system, opts normalize.Options) sqlite.TuneCounts {
	n := normalize.New(opts)
	rowsOf := map[string]map[string]int{} // key -> system -> rows
	authority := ""
	for _, s := range systems {
		if s.role == "authority" {
			authority = s.name
		}
		for _, r := range s.rows {
			k := n.Key(r.RawKey)
			if k == "" {
				continue
			}
			if rowsOf[k] == nil {
				rowsOf[k] = map[string]int{}
			}
			rowsOf[k][s.name]++
		}
	}
	var c sqlite.TuneCounts
	authorityKeys := int64(0)
	for _, by := range rowsOf {
		inA := by[authority] > 0
		if inA {
			authorityKeys++
		}
		for sys, rows := range by {
			if sys == authority {
				continue
			}
			if inA {
				c.Matched++
			} else {
				c.MissingInA++
			}
			if rows > 1 {
				c.DuplicateKeys++
			}
		}
	}
	c.MissingFromSystem = authorityKeys*int64(len(systems)-1) - c.Matched
	return c
}

// tuneFixture is a staged run whose raw keys are spelled as real exports
// spell them: case, delimiters, leading zeros, stray characters, and some
// that normalize to nothing under some rules.
func tuneFixture(seed uint64) []system { return tuneFixtureSized(seed, 300) }

// tuneFixtureSized is tuneFixture with numbers below n and about 4n rows.
func tuneFixtureSized(seed uint64, n int) []system {
	rnd := rand.New(rand.NewPCG(seed, 7))
	prefixes := []string{"inv", "INV", "Inv", "ast", "AST"}
	delims := []string{"-", "_", ".", " ", "--", "/", " - ", ""}
	spell := func() string {
		switch rnd.IntN(40) {
		case 0:
			return "##"
		case 1:
			return "--"
		case 2:
			return "inv\x00-" + strconv.Itoa(rnd.IntN(n)) // a NUL, as a broken export may hold
		}
		num := fmt.Sprintf("%0*d", rnd.IntN(8), rnd.IntN(n))
		raw := prefixes[rnd.IntN(len(prefixes))] + delims[rnd.IntN(len(delims))] + num
		switch rnd.IntN(10) {
		case 0:
			raw = " #" + raw
		case 1:
			raw += "é"
		case 2:
			raw = strings.ToLower(raw) + "/2024"
		}
		return raw
	}
	spellN := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = spell()
		}
		return out
	}
	return []system{authority("A", spellN(n*4/3)...), peer("B", spellN(n)...), peer("C", spellN(n*5/6)...), peer("D", spellN(5)...)}
}

// tuneOptionSets are the defaults and single changes of them, as keysync
// tune tries.
func tuneOptionSets() []normalize.Options {
	cur := normalize.Defaults()
	sets := []normalize.Options{cur}
	for _, fn := range []func(*normalize.Options){
		func(o *normalize.Options) { o.Uppercase = false },
		func(o *normalize.Options) { o.StripNonAlnum = false },
		func(o *normalize.Options) { o.CollapseDelims = "" },
		func(o *normalize.Options) { o.PadNumbers = 4 },
		func(o *normalize.Options) { o.PadNumbers = 8 },
	} {
		o := cur
		fn(&o)
		sets = append(sets, o)
	}
	return sets
}

// TestTuneAgainstMaps: Tune's counts equal those of a plain Go model for
// every option set, on several fixtures, whichever way Tune counts: by
// hash in one pass, in many passes, or exactly by text after a collision.
func TestTuneAgainstMaps(t *testing.T) {
	ctx := context.Background()
	sets := tuneOptionSets()
	ways := []struct {
		name  string
		setup func() (restore func())
	}{
		{"by hash", func() func() { return func() {} }},
		{"in passes of 50 rows", func() func() { return sqlite.SetTuneRowsPerPass(50) }},
		{"after hash collisions", sqlite.ForceKeyHashCollisions},
	}
	for seed := range uint64(4) {
		systems := tuneFixture(seed)
		db := MustOpenDB(t)
		runID, _ := mustRun(t, db, run{systems: systems})
		if ok, err := db.AttachStagingOf(ctx, runID); err != nil || !ok {
			t.Fatalf("attach the staging files of run %d: %v, %v", runID, ok, err)
		}
		want := make([]sqlite.TuneCounts, len(sets))
		for i, o := range sets {
			want[i] = tuneOracle(systems, o)
		}
		if want[0].Matched == 0 || want[0].MissingInA == 0 || want[0].DuplicateKeys == 0 || want[0].MissingFromSystem == 0 {
			t.Fatalf("seed %d: the fixture should have counts of every kind: %+v", seed, want[0])
		}
		for _, way := range ways {
			t.Run(fmt.Sprintf("seed %d %s", seed, way.name), func(t *testing.T) {
				restore := way.setup()
				got, err := db.Tune(ctx, "A", sets)
				restore()
				if err != nil {
					t.Fatal(err)
				}
				counts := func(c sqlite.TuneCounts) [4]int64 {
					return [4]int64{c.Matched, c.MissingInA, c.MissingFromSystem, c.DuplicateKeys}
				}
				for i := range sets {
					if counts(got[i]) != counts(want[i]) {
						t.Errorf("option set %+v: got %+v, want %+v", sets[i], got[i], want[i])
					}
				}
			})
		}
	}
}

// TestTuneLargeAgainstMaps: the same on a fixture large enough for the
// radix sort (20 000 rows), in one pass and in many, and with hash
// collisions that only the last of several passes finds, after the earlier
// passes were added up.
func TestTuneLargeAgainstMaps(t *testing.T) {
	ctx := context.Background()
	sets := tuneOptionSets()
	systems := tuneFixtureSized(9, 6000)
	db := MustOpenDB(t)
	runID, _ := mustRun(t, db, run{systems: systems})
	if ok, err := db.AttachStagingOf(ctx, runID); err != nil || !ok {
		t.Fatalf("attach the staging files of run %d: %v, %v", runID, ok, err)
	}
	for _, way := range []struct {
		name  string
		setup func() (restore func())
	}{
		{"one pass", func() func() { return func() {} }},
		{"passes of 5000 rows", func() func() { return sqlite.SetTuneRowsPerPass(5000) }},
		{"collisions in the last pass", func() func() {
			restorePasses := sqlite.SetTuneRowsPerPass(3000)
			restoreHash := sqlite.ForceLateKeyHashCollisions()
			return func() { restoreHash(); restorePasses() }
		}},
	} {
		t.Run(way.name, func(t *testing.T) {
			restore := way.setup()
			got, err := db.Tune(ctx, "A", sets)
			restore()
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range sets {
				want := tuneOracle(systems, o)
				if g := [4]int64{got[i].Matched, got[i].MissingInA, got[i].MissingFromSystem, got[i].DuplicateKeys}; g !=
					[4]int64{want.Matched, want.MissingInA, want.MissingFromSystem, want.DuplicateKeys} {
					t.Errorf("option set %+v: got %v, want %+v", o, g, want)
				}
			}
		})
	}
}

// TestTuneCancelled: a cancelled Tune (Ctrl-C) stops and says so in one
// line, whichever phase it was in.
func TestTuneCancelled(t *testing.T) {
	db := MustOpenDB(t)
	runID, _ := mustRun(t, db, run{systems: tuneFixture(1)})
	if ok, err := db.AttachStagingOf(context.Background(), runID); err != nil || !ok {
		t.Fatalf("attach the staging files of run %d: %v, %v", runID, ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.Tune(ctx, "A", tuneOptionSets())
	if err == nil || !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "\n") {
		t.Errorf("a cancelled Tune: %q, want one line wrapping context.Canceled", err)
	}
}

// TestTuneNeedsTheAuthority: a staged run without the system named as the
// authority is an error, not counts of nothing.
func TestTuneNeedsTheAuthority(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	mustRun(t, db, run{systems: []system{authority("A", "k1"), peer("B", "k1", "k2")}})
	_, err := db.Tune(ctx, "Z", tuneOptionSets())
	if err == nil || !strings.Contains(err.Error(), `no system "Z"`) {
		t.Fatalf("Tune with an authority that was not staged: got %v, want an error naming it", err)
	}
}
