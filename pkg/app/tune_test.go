package app

import (
	"slices"
	"testing"

	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/sqlite"
)

func TestTuneVariants(t *testing.T) {
	names := func(vs []tuneVariant) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.option+"="+v.value)
		}
		return out
	}
	pad8 := normalize.Defaults()
	pad8.PadNumbers = 8
	noCollapse := normalize.Defaults()
	noCollapse.CollapseDelims = ""
	noCollapse.Uppercase = false
	odd := normalize.Defaults()
	odd.CollapseDelims = "_"
	odd.PadNumbers = 5
	for _, tt := range []struct {
		name string
		cur  normalize.Options
		want []string
	}{
		{"defaults with pad 8", pad8, []string{"current=", "uppercase=false", "strip_non_alnum=false", `collapse_delims=""`,
			"pad_numbers=0", "pad_numbers=4", "pad_numbers=6", "pad_numbers=10", "pad_numbers=12", "pad_numbers=16"}},
		{"collapsing off, lower case", noCollapse, []string{"current=", "uppercase=true", "strip_non_alnum=false", `collapse_delims="-"`,
			"pad_numbers=4", "pad_numbers=6", "pad_numbers=8", "pad_numbers=10", "pad_numbers=12", "pad_numbers=16"}},
		{"values tune does not try", odd, []string{"current=", "uppercase=false", "strip_non_alnum=false", `collapse_delims=""`, `collapse_delims="-"`,
			"pad_numbers=0", "pad_numbers=4", "pad_numbers=6", "pad_numbers=8", "pad_numbers=10", "pad_numbers=12", "pad_numbers=16"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vs := tuneVariants(tt.cur)
			if got := names(vs); !slices.Equal(got, tt.want) {
				t.Errorf("variants = %q, want %q", got, tt.want)
			}
			if vs[0].opts != tt.cur {
				t.Errorf("the first variant is %+v, want the current rules %+v", vs[0].opts, tt.cur)
			}
		})
	}
}

func TestTuneRowsOrder(t *testing.T) {
	vs := []tuneVariant{{option: "current"}, {option: "a"}, {option: "b"}, {option: "c"}}
	counts := []sqlite.TuneCounts{{Matched: 10, MissingInA: 5}, {Matched: 8}, {Matched: 12, MissingInA: 3}, {Matched: 10}}
	rows := tuneRows(vs, counts)
	var got []string
	for _, r := range rows {
		got = append(got, r.Option)
	}
	if want := []string{"current", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q (current first, then by gain in matched)", got, want)
	}
	if r := rows[1]; r.MatchedDiff != 2 || r.MissingInADiff != -2 {
		t.Errorf("b: matched_diff %d, missing_in_A_diff %d, want 2 and -2", r.MatchedDiff, r.MissingInADiff)
	}
}
