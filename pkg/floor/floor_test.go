package floor_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keysync/keysync/pkg/app"
	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/floor"
	"github.com/keysync/keysync/pkg/gen"
)

// extraRows are appended to generated inputs: duplicates of three and more
// rows (in the authority, in a peer for a key of A and for a key A lacks,
// the same key from two peers), raw keys that need quoting, a master key
// conflict under namespaced, and a rejection of every kind.
var extraRows = map[string][]string{
	"A": {
		`A,trip-7,invoice,"Berlin, DE",2024-01-02`,
		`A,TRIP_7,invoice,Lyon,2024-01-03T10:00:00Z`,
		`A,trip-7,asset,,`,
		`A,Trip.0007,sku,Oslo,`,
		`A,shared-9,customer,Rome,2024-05-06 07:08:09`,
		`A,A-B-NEW-1,invoice,conflicts under namespaced,`,
		`A,-_-,invoice,empty key,`,
		`A,K-1,invoice,bad timestamp,2024-02-30`,
		`B,K-2,invoice,system mismatch,`,
		`A,K-3`,
	},
	"B": {
		`B,shared-9,customer,one,`,
		`B,SHARED_9,customer,two,2024-06-01`,
		`B,shared 9,customer,three,`,
		`B,shared-9,customer,four,`,
		`B,only-b-5,sku,first,2024-07-01`,
		`B,ONLY.B.5,sku,second,`,
		`B,only-b-5,sku,third,`,
		`B,"dup, 9",asset,"quoted, location",`,
		`B,dup 9,asset,,`,
		`B,new-1,invoice,conflicts under namespaced,`,
		`B,###,invoice,empty key,`,
		`B,K-4,invoice,bad,not a time`,
	},
	"C": {
		`C,only-b-5,sku,also in C,`,
		`C,"quoted ""raw"" key",sku,,`,
		`C,quoted raw key,sku,,`,
		`C,quoted-raw-key,sku,,`,
	},
}

// TestFloorAgreesWithKeysync is the cross-check oracle of issue
// [fast-staging]: on generated data, keysync sync (run in process, on a
// fresh database) and the floor must find exactly the same things. The
// floor's reports are even byte-identical to that first run's.
func TestFloorAgreesWithKeysync(t *testing.T) {
	tests := []struct {
		name   string
		rows   int
		dup    float64
		config map[string]string // replacements in the generated config
		extra  bool
	}{
		{name: "mirror", rows: 12000, dup: 0.005},
		{name: "namespaced with conflicts and auto-approve", rows: 8000, dup: 0.01, extra: true,
			config: map[string]string{"strategy: mirror": "strategy: namespaced", "auto_approve: false": "auto_approve: true"}},
		{name: "mirror with duplicates of three rows and more", rows: 6000, dup: 0.05, extra: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := generate(t, dir, tt.rows, tt.dup, tt.config, tt.extra)

			sync(t, cfgPath)
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			floorDir := filepath.Join(dir, "floor")
			res, err := floor.Run(context.Background(), cfg, floorDir, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("floor: %v", err)
			}

			if err := floor.Diff(cfg.OutputDir, floorDir); err != nil {
				t.Fatalf("the floor and keysync disagree:\n%v", err)
			}
			for _, name := range floor.Reports {
				got := readFile(t, filepath.Join(floorDir, name+".csv"))
				want := readFile(t, filepath.Join(cfg.OutputDir, name+".csv"))
				if !bytes.Equal(got, want) {
					t.Errorf("%s.csv: the floor's is not byte-identical to keysync's first run's:\nfloor:\n%.2000s\nkeysync:\n%.2000s", name, got, want)
				}
			}
			// A second run on the same database (its registry, its leftover
			// staging) must find the same again.
			sync(t, cfgPath)
			if err := floor.Diff(cfg.OutputDir, floorDir); err != nil {
				t.Fatalf("keysync's second run and the floor disagree:\n%v", err)
			}

			// The data must exercise what the case is about, or agreement proves little.
			var rejected, dupKeys, missingInA, missingFrom int64
			for _, s := range res.Summary {
				rejected += s.RowsRejected
				dupKeys += s.DuplicateKeys
				missingInA += s.MissingInA
				missingFrom += s.MissingFromSystem
			}
			if missingInA == 0 || missingFrom == 0 || dupKeys == 0 {
				t.Errorf("summary %+v: want missing_in_A, missing_from_system and duplicates", res.Summary)
			}
			exceptions := string(readFile(t, filepath.Join(floorDir, "exceptions.csv")))
			if tt.extra {
				for _, want := range []string{
					"1,duplicate,A,TRIP-00000007,4,trip-7 | TRIP_7 | Trip.0007,mixed\n",
					"1,duplicate,B,SHARED-00000009,4,shared-9 | SHARED_9 | shared 9,mixed\n",
					"1,duplicate,B,ONLY-B-00000005,3,only-b-5 | ONLY.B.5,mixed\n",
					`1,duplicate,B,DUP-00000009,2,"dup, 9 | dup 9",normalized` + "\n",
					`1,duplicate,C,QUOTED-RAW-KEY,3,"quoted ""raw"" key | quoted raw key | quoted-raw-key",normalized` + "\n",
				} {
					if !strings.Contains(exceptions, want) {
						t.Errorf("exceptions.csv lacks %q:\n%s", want, exceptions)
					}
				}
				if rejected != 6 {
					t.Errorf("rows rejected = %d, want 6", rejected)
				}
			}
			conflict := "1,master_key_conflict,B,NEW-00000001,1,A-B-NEW-00000001,\n"
			if got, want := strings.Contains(exceptions, conflict), tt.config["strategy: mirror"] == "strategy: namespaced"; got != want {
				t.Errorf("exceptions.csv has the conflict %q: %v, want %v", conflict, got, want)
			}
		})
	}
}

// sync runs keysync sync on cfgPath in process, as the binary would.
func sync(t *testing.T, cfgPath string) {
	t.Helper()
	var stderr bytes.Buffer
	a := app.New(app.Env{Stdout: io.Discard, Stderr: &stderr})
	if err := a.RunContext(context.Background(), []string{"keysync", "sync", "--quiet", "--config", cfgPath}); err != nil {
		t.Fatalf("keysync sync: %v\n%s", err, stderr.String())
	}
}

// generate writes a keysync gen data set of rows rows into dir, applies the
// config replacements, appends extraRows if extra, and returns the config's path.
func generate(t *testing.T, dir string, rows int, dup float64, replace map[string]string, extra bool) string {
	t.Helper()
	st, err := gen.Write(context.Background(), gen.Options{Rows: rows, Seed: 3, Peers: gen.DefaultPeers,
		Drift: 0.02, Dup: dup, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	text := string(readFile(t, st.Config))
	for old, repl := range replace {
		if !strings.Contains(text, old) {
			t.Fatalf("the generated config has no %q", old)
		}
		text = strings.ReplaceAll(text, old, repl)
	}
	writeFile(t, st.Config, text)
	if extra {
		for system, lines := range extraRows {
			path := filepath.Join(dir, gen.InputDir, system+".csv")
			writeFile(t, path, string(readFile(t, path))+strings.Join(lines, "\n")+"\n")
		}
	}
	return st.Config
}

func TestDiff(t *testing.T) {
	const missing = "run_id,system,source_key,key,master_key,status,entity_type,location_ref,last_seen_at\n" +
		"1,B,b-1,B-00000001,B-00000001,Proposed,sku,,\n" +
		"1,B,b-2,B-00000002,B-00000002,Proposed,sku,,\n"
	tests := []struct {
		name    string
		floor   string // diff_missing_in_A.csv of the floor; keysync's is missing
		wantErr string // "" for agreement
	}{
		{"identical", missing, ""},
		{"run_id and status differ", "run_id,system,source_key,key,master_key,status,entity_type,location_ref,last_seen_at\n" +
			"7,B,b-1,B-00000001,B-00000001,Active,sku,,\n" +
			"7,B,b-2,B-00000002,B-00000002,,sku,,\n", ""},
		{"a key differs", strings.Replace(missing, "B-00000002,B", "B-00000003,B", 1),
			`diff_missing_in_A.csv: line 3: keysync ["*" "B" "b-2" "B-00000002"`},
		{"a row is missing", strings.TrimSuffix(missing, "1,B,b-2,B-00000002,B-00000002,Proposed,sku,,\n"),
			"diff_missing_in_A.csv: line 3: the floor's ends"},
		{"a row too many", missing + "1,C,c,C,C,Proposed,,,\n", "diff_missing_in_A.csv: line 4: keysync's ends"},
		{"rows swapped", "run_id,system,source_key,key,master_key,status,entity_type,location_ref,last_seen_at\n" +
			"1,B,b-2,B-00000002,B-00000002,Proposed,sku,,\n1,B,b-1,B-00000001,B-00000001,Proposed,sku,,\n",
			"diff_missing_in_A.csv: line 2:"},
		{"header differs", strings.Replace(missing, "last_seen_at", "seen", 1), "diff_missing_in_A.csv: header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, fl := t.TempDir(), t.TempDir()
			for _, name := range floor.Reports {
				writeFile(t, filepath.Join(ks, name+".csv"), "run_id,x\n1,a\n")
				writeFile(t, filepath.Join(fl, name+".csv"), "run_id,x\n2,a\n")
			}
			writeFile(t, filepath.Join(ks, "diff_missing_in_A.csv"), missing)
			writeFile(t, filepath.Join(fl, "diff_missing_in_A.csv"), tt.floor)
			err := floor.Diff(ks, fl)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Diff: %v, want agreement", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Diff: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr string
		cancel  bool
	}{
		{"grace period", "grace_period: 36h\n", "grace_period 36h0m0s: the floor does not support it", false},
		{"a peer's file missing", "", `source "C": `, false},
		{"cancelled", "", "context canceled", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, s := range []string{"A", "B", "D", "E"} { // not C
				writeFile(t, filepath.Join(dir, s+".csv"), "source_key\nk-1\nk-2\n")
			}
			cfgPath := filepath.Join(dir, "keysync-config.yaml")
			writeFile(t, cfgPath, tt.config+"sources:\n  A: { path: ./A.csv }\n  B: { path: ./B.csv }\n"+
				"  C: { path: ./C.csv }\n  D: { path: ./D.csv }\n  E: { path: ./E.csv }\n")
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			out := filepath.Join(dir, "out")
			_, err = floor.Run(ctx, cfg, out, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run: %v, want an error with %q", err, tt.wantErr)
			}
			if left, _ := os.ReadDir(out); len(left) > 0 {
				t.Errorf("a failed run left %d files in %s", len(left), out)
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
