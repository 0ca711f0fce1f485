package gen

import (
	"testing"
	"time"
)

// TestCivil compares the hand-written calendar with the time package over
// every day from 1970 to 2100, leap years and centuries included.
func TestCivil(t *testing.T) {
	for days := int64(0); days < 47482; days++ {
		y, m, d := civil(days)
		want := time.Unix(days*86400, 0).UTC()
		if y != int64(want.Year()) || m != int64(want.Month()) || d != int64(want.Day()) {
			t.Fatalf("civil(%d) = %04d-%02d-%02d, want %s", days, y, m, d, want.Format(time.DateOnly))
		}
	}
}

// TestTimestampsParse checks that every timestamp style writes what the time
// package reads back as the same instant.
func TestTimestampsParse(t *testing.T) {
	w := newFileWriter(NewPlan(Options{Rows: 1}), 3, "A", 0)
	layouts := map[int]string{
		tsRFC3339Z:      time.RFC3339,
		tsRFC3339Offset: time.RFC3339,
		tsDateTime:      time.DateTime,
		tsDate:          time.DateOnly,
	}
	for style, layout := range layouts {
		w.ts = style
		for n := range 2000 {
			// Bits 6-8 below 6 keep the habitual style; bits 11-12 pick the offset.
			x := uint64(n%4) << 11
			b := w.appendTimestamp(nil, x)
			got, err := time.Parse(layout, string(b))
			if err != nil {
				t.Fatalf("style %d wrote %q: %v", style, b, err)
			}
			if got.Year() < 2023 || got.Year() > 2025 {
				t.Fatalf("style %d wrote %q, outside 2024", style, b)
			}
		}
	}
}

// TestNumberIsABijection checks the scramble of family numbers: on [0, mod)
// every number appears once and stays below mod, and above mod the high
// part carries on.
func TestNumberIsABijection(t *testing.T) {
	for _, seed := range []uint64{0, 1, 99} {
		p := NewPlan(Options{Rows: 1000, Seed: seed})
		if p.mod != 10_000 || p.width != 4 {
			t.Fatalf("mod %d width %d, want 10000 and 4", p.mod, p.width)
		}
		for f := range families {
			seen := make([]bool, p.mod)
			identity := 0
			for j := range p.mod {
				n := p.number(uint8(f), j)
				if n >= p.mod || seen[n] {
					t.Fatalf("seed %d family %d: number(%d) = %d: out of range or seen", seed, f, j, n)
				}
				seen[n] = true
				if n == j {
					identity++
				}
				if hi := p.number(uint8(f), j+3*p.mod); hi != n+3*p.mod {
					t.Fatalf("number(%d) = %d, want %d", j+3*p.mod, hi, n+3*p.mod)
				}
			}
			if identity > 10 {
				t.Errorf("seed %d family %d: %d fixed points: not scrambled", seed, f, identity)
			}
		}
	}
}

func TestWidthGrowsWithRows(t *testing.T) {
	for _, tt := range []struct {
		rows  int
		width int
	}{{1, 4}, {26_000, 4}, {27_000, 5}, {10_000_000, 7}} {
		if got := NewPlan(Options{Rows: tt.rows}).width; got != tt.width {
			t.Errorf("rows %d: width %d, want %d", tt.rows, got, tt.width)
		}
	}
}
