package normalize

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// opt returns the defaults changed by fn, so each table row states only what
// differs from the spec's defaults.
func opt(fn func(*Options)) Options {
	o := Defaults()
	if fn != nil {
		fn(&o)
	}
	return o
}

func pad(w int) func(*Options) { return func(o *Options) { o.PadNumbers = w } }

func TestKey(t *testing.T) {
	pad8 := opt(pad(8))
	noUpper := opt(func(o *Options) { o.Uppercase = false })
	noStrip := opt(func(o *Options) { o.StripNonAlnum = false })
	noCollapse := opt(func(o *Options) { o.CollapseDelims = "" })
	noCollapsePad8 := opt(func(o *Options) { o.CollapseDelims = ""; o.PadNumbers = 8 })
	rawPad8 := opt(func(o *Options) { o.CollapseDelims = ""; o.StripNonAlnum = false; o.PadNumbers = 8 })
	allOff := Options{Delimiters: DefaultDelimiters}
	noStripNoCollapse := opt(func(o *Options) { o.CollapseDelims = ""; o.StripNonAlnum = false })
	pad3 := opt(pad(3))
	custom := opt(func(o *Options) { o.Delimiters = "#-" })
	wide := opt(func(o *Options) { o.Delimiters = "-·—" })
	double := opt(func(o *Options) { o.CollapseDelims = "--" })
	dashUnder := opt(func(o *Options) { o.CollapseDelims = "-_"; o.PadNumbers = 4 })
	space := opt(func(o *Options) { o.CollapseDelims = " " })
	noStripDouble := opt(func(o *Options) { o.StripNonAlnum = false; o.CollapseDelims = "--"; o.PadNumbers = 4 })

	tests := []struct {
		name string
		opts Options
		raw  string
		want string
	}{
		// SPEC §4 worked examples: defaults with pad_numbers 8.
		{"spec/trim and pad", pad8, "  inv_2024..0042 ", "INV-00002024-00000042"},
		{"spec/strip symbols", pad8, "SKU#ab / 7", "SKUAB-00000007"},
		{"spec/long zeros", pad8, "000000000123", "00000123"},
		{"spec/double dash", pad8, "a--b", "A-B"},
		{"spec/only delimiters", pad8, "-_-", ""},
		{"spec/non-ascii letters", pad8, "Ünï-1", "N-00000001"},

		// Defaults, no padding.
		{"defaults/no pad", Defaults(), "  inv_2024..0042 ", "INV-2024-0042"},
		{"defaults/empty", Defaults(), "", ""},
		{"defaults/blank", Defaults(), " \t\u00a0\u3000 ", ""},
		{"defaults/symbols only", Defaults(), "#!?", ""},
		{"defaults/tab nbsp ideographic", Defaults(), "\tabc\u00a0def\u3000ghi\n", "ABC-DEF-GHI"},
		{"defaults/em space", Defaults(), "a\u2003b", "A-B"},
		{"defaults/stripped char inside run", Defaults(), "a - # - b", "A-B"},
		{"defaults/stripped char between letters", Defaults(), "a#b", "AB"},
		{"defaults/leading run after strip", Defaults(), "#-a-#", "A"},
		{"defaults/dotless i and long s", Defaults(), "ıd-ſku", "ID-SKU"},
		{"defaults/sharp s has no simple upper", Defaults(), "straße", "STRAE"},
		{"defaults/invalid byte stripped", Defaults(), "a\xffb", "AB"},
		{"defaults/invalid byte in run", Defaults(), "a-\xff-b", "A-B"},
		{"defaults/zeros kept without pad", Defaults(), "a-007", "A-007"},
		{"defaults/backslash colon pipe", Defaults(), `a\b:c|d`, "A-B-C-D"},

		// One switch off at a time.
		{"no upper/kept case", noUpper, "Inv_2024", "Inv-2024"},
		{"no upper/long s stripped", noUpper, "ſku", "ku"},
		{"no strip/symbols kept", noStrip, "SKU#ab / 7", "SKU#AB-7"},
		{"no strip/symbol splits runs", noStrip, "a-#-b", "A-#-B"},
		{"no strip/non-ascii kept", noStrip, "Ünï-1", "ÜNÏ-1"},
		{"no strip/invalid byte kept", noStrip, "a\xffb", "A\xffB"},
		{"no strip/edge runs dropped", noStrip, "-_ a. ", "A"},
		{"no collapse/delimiters removed", noCollapse, "inv_2024..0042", "INV20240042"},
		{"no collapse/white space removed", noCollapse, "a\u00a0b c", "ABC"},
		{"no collapse/pad whole key", noCollapsePad8, "00-42", "00000042"},
		{"no collapse/no pad with letters", noCollapsePad8, "4-2x", "42X"},
		{"no strip no collapse/inner space kept", noStripNoCollapse, " a  b ", "A  B"},
		{"no strip no collapse/pad digits", rawPad8, "0042", "00000042"},
		{"no strip no collapse/no pad with space", rawPad8, "00 42", "00 42"},
		{"all off/trim only", allOff, "  a-b_c  ", "a-b_c"},
		{"all off/blank", allOff, " \u3000 ", ""},

		// Padding.
		{"pad 0/off", opt(pad(0)), "a-1", "A-1"},
		{"pad/longer number kept", pad8, "123456789012", "123456789012"},
		{"pad/longer number loses zeros", pad8, "0001234567890", "1234567890"},
		{"pad/exact width", pad8, "x-12345678", "X-12345678"},
		{"pad/all zeros", pad8, "0000", "00000000"},
		{"pad/single zero", pad8, "a-0", "A-00000000"},
		{"pad/mixed segment untouched", pad8, "a-12b", "A-12B"},
		{"pad/narrow width", pad3, "a-00001", "A-001"},
		{"pad/narrow width keeps long", pad3, "a-12345", "A-12345"},
		{"pad/digits joined by stripping", pad8, "1#2", "00000012"},

		// Delimiters and collapse strings.
		{"custom/hash delimiter", custom, "a#b c.d", "A-B-CD"},
		{"custom/non-ascii delimiters", wide, "a·b—c", "A-B-C"},
		{"custom/non-ascii run", wide, "a·—·b", "A-B"},
		{"collapse double/single", double, "a-b", "A--B"},
		{"collapse double/already", double, "a--b", "A--B"},
		{"collapse double/long run", double, "a---b", "A--B"},
		{"collapse two chars/mixed run", dashUnder, "a._b_c", "A-_B-_C"},
		{"collapse two chars/pad", dashUnder, "x.1", "X-_0001"},
		{"collapse space", space, "a--b", "A B"},
		{"no strip double/pad", noStripDouble, "#-1", "#--0001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New(tt.opts)
			if got, want := n.Key(tt.raw), tt.want; got != want {
				t.Errorf("Key(%q) = %q, want %q", tt.raw, got, want)
			}
			if got, want := n.Key(tt.want), tt.want; got != want {
				t.Errorf("not idempotent: Key(%q) = %q", tt.want, got)
			}
			if got, want := reference(tt.opts, tt.raw), tt.want; got != want {
				t.Errorf("reference(%q) = %q, want %q (test or reference is wrong)", tt.raw, got, want)
			}
			if tr := n.Trace(tt.raw); len(tr) != 5 || tr[4].Value != tt.want {
				t.Errorf("Trace(%q) = %+v, want 5 steps ending in %q", tt.raw, tr, tt.want)
			}
		})
	}
}

// TestOddOptions covers option sets config validation refuses, which New
// adjusts so that normalization stays idempotent.
func TestOddOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		raw  string
		want string
	}{
		{"collapse char not a delimiter", Options{Uppercase: true, StripNonAlnum: true, CollapseDelims: "#", Delimiters: "-"}, "a-b#c", "A#B#C"},
		{"lower-case collapse string", Options{Uppercase: true, StripNonAlnum: true, CollapseDelims: "x", Delimiters: "-"}, "a-bxc", "AxBxC"},
		{"letter delimiter", Options{Uppercase: true, StripNonAlnum: true, CollapseDelims: "-", Delimiters: "-X"}, "axb", "A-B"},
		{"letter delimiter removed", Options{Uppercase: true, StripNonAlnum: true, Delimiters: "X"}, "axb", "AB"},
		{"zero delimiter with pad", Options{StripNonAlnum: true, CollapseDelims: "-", Delimiters: "-0", PadNumbers: 4}, "10-2", "0001-0002"},
		{"invalid collapse string", Options{StripNonAlnum: true, CollapseDelims: "\xff", Delimiters: "-"}, "a-b", "ab"},
		{"negative pad", Options{StripNonAlnum: true, CollapseDelims: "-", Delimiters: "-", PadNumbers: -3}, "1", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New(tt.opts)
			if got, want := n.Key(tt.raw), tt.want; got != want {
				t.Errorf("Key(%q) = %q, want %q", tt.raw, got, want)
			}
			if got, want := n.Key(tt.want), tt.want; got != want {
				t.Errorf("not idempotent: Key(%q) = %q", tt.want, got)
			}
		})
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	n := New(opt(pad(8)))
	got := string(n.Append([]byte("prefix:"), "  inv_2024..0042 "))
	if want := "prefix:INV-00002024-00000042"; got != want {
		t.Errorf("Append = %q, want %q", got, want)
	}
}

func TestAppendAllocs(t *testing.T) {
	n := New(opt(pad(8)))
	buf := make([]byte, 0, 256)
	for _, raw := range benchKeys {
		if got := testing.AllocsPerRun(100, func() { buf = n.Append(buf[:0], raw) }); got != 0 {
			t.Errorf("Append(%q) allocates %v times per call, want 0", raw, got)
		}
	}
}

// reference is SPEC §4 spelled out step by step, slow and allocating, with
// New's documented adjustments; FuzzNormalize checks Append against it.
func reference(o Options, raw string) string {
	collapse := strings.ToValidUTF8(o.CollapseDelims, "")
	delims := strings.ToValidUTF8(o.Delimiters, "") + collapse
	if o.Uppercase {
		delims += strings.Map(unicode.ToUpper, collapse)
	}

	// Characters: a valid rune's encoding, or one invalid byte.
	var chars []string
	s := strings.TrimSpace(raw)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			chars = append(chars, s[i:i+1])
		case o.Uppercase:
			chars = append(chars, string(unicode.ToUpper(r)))
		default:
			chars = append(chars, string(r))
		}
		i += size
	}
	isDelim := func(c string) bool {
		r, size := utf8.DecodeRuneInString(c)
		if r == utf8.RuneError && size == 1 {
			return false
		}
		return unicode.IsSpace(r) || strings.ContainsRune(delims, r)
	}
	isAlnum := func(c string) bool {
		if len(c) != 1 {
			return false
		}
		b := c[0]
		return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9'
	}

	if o.StripNonAlnum {
		var kept []string
		for _, c := range chars {
			if isDelim(c) && collapse != "" || !isDelim(c) && isAlnum(c) {
				kept = append(kept, c)
			}
		}
		chars = kept
	}

	key := strings.Join(chars, "")
	if collapse != "" {
		var b strings.Builder
		run := false
		for _, c := range chars {
			if isDelim(c) {
				run = true
				continue
			}
			if run && b.Len() > 0 {
				b.WriteString(collapse)
			}
			run = false
			b.WriteString(c)
		}
		key = b.String()
	}

	if o.PadNumbers > 0 {
		segs := []string{key}
		if collapse != "" {
			segs = strings.Split(key, collapse)
		}
		for i, seg := range segs {
			if seg == "" || strings.Trim(seg, "0123456789") != "" {
				continue
			}
			seg = strings.TrimLeft(seg, "0")
			if seg == "" {
				seg = "0"
			}
			if len(seg) < o.PadNumbers {
				seg = strings.Repeat("0", o.PadNumbers-len(seg)) + seg
			}
			segs[i] = seg
		}
		key = strings.Join(segs, collapse)
	}
	return key
}

// fuzzOptions are the fixed option sets every fuzz input is run through.
var fuzzOptions = []struct {
	name string
	opts Options
}{
	{"defaults", Defaults()},
	{"defaults pad 8", opt(pad(8))},
	{"no upper", opt(func(o *Options) { o.Uppercase = false })},
	{"no strip pad 8", opt(func(o *Options) { o.StripNonAlnum = false; o.PadNumbers = 8 })},
	{"no collapse pad 8", opt(func(o *Options) { o.CollapseDelims = ""; o.PadNumbers = 8 })},
	{"no strip no collapse pad 8", opt(func(o *Options) { o.StripNonAlnum = false; o.CollapseDelims = ""; o.PadNumbers = 8 })},
	{"all off", Options{Delimiters: DefaultDelimiters}},
	{"collapse -_ pad 3", opt(func(o *Options) { o.CollapseDelims = "-_"; o.PadNumbers = 3 })},
	{"collapse -- no strip", opt(func(o *Options) { o.CollapseDelims = "--"; o.StripNonAlnum = false })},
	{"wide delimiters", opt(func(o *Options) { o.Delimiters = "-·—\u00a0"; o.CollapseDelims = "·"; o.PadNumbers = 2 })},
}

func FuzzNormalize(f *testing.F) {
	for _, raw := range []string{
		"  inv_2024..0042 ", "SKU#ab / 7", "000000000123", "a--b", "-_-", "Ünï-1",
		"", "\tabc\u00a0def\u3000ghi\n", "a\xffb", "ıd-ſku", "0000", "a - # - b",
	} {
		f.Add(raw, uint8(0b011), "-_.", "-", uint8(8))
	}
	f.Add("a-bxc", uint8(0b011), "-", "x", uint8(0))
	f.Add("10-2", uint8(0b010), "-0", "-", uint8(4))
	f.Add("a·b", uint8(0b001), "·", "··", uint8(1))

	f.Fuzz(func(t *testing.T, raw string, flags uint8, delims, collapse string, width uint8) {
		sets := append(fuzzOptions[:len(fuzzOptions):len(fuzzOptions)], struct {
			name string
			opts Options
		}{"fuzzed", Options{
			Uppercase:      flags&1 != 0,
			StripNonAlnum:  flags&2 != 0,
			CollapseDelims: collapse,
			Delimiters:     delims,
			PadNumbers:     int(width % 24),
		}})
		for _, set := range sets {
			n := New(set.opts)
			got := n.Key(raw)
			if want := reference(set.opts, raw); got != want {
				t.Fatalf("%s: Key(%q) = %q, reference %q", set.name, raw, got, want)
			}
			if again := n.Key(got); again != got {
				t.Fatalf("%s: not idempotent: Key(%q) = %q, Key of that = %q", set.name, raw, got, again)
			}
			if tr := n.Trace(raw); tr[len(tr)-1].Value != got {
				t.Fatalf("%s: Trace(%q) ends in %q, Key gives %q", set.name, raw, tr[len(tr)-1].Value, got)
			}
			if withPrefix := string(n.Append([]byte("pre\xff"), raw)); withPrefix != "pre\xff"+got {
				t.Fatalf("%s: Append with prefix = %q, want %q", set.name, withPrefix, "pre\xff"+got)
			}
			c := set.opts.CollapseDelims
			if set.name == "fuzzed" || c == "" {
				continue
			}
			if strings.HasPrefix(got, c) || strings.HasSuffix(got, c) {
				t.Fatalf("%s: Key(%q) = %q starts or ends with %q", set.name, raw, got, c)
			}
			if strings.Contains(got, c+c) {
				t.Fatalf("%s: Key(%q) = %q has an uncollapsed run", set.name, raw, got)
			}
			if set.opts.StripNonAlnum {
				for _, r := range strings.ReplaceAll(got, c, "") {
					ok := '0' <= r && r <= '9' || 'A' <= r && r <= 'Z' || !set.opts.Uppercase && 'a' <= r && r <= 'z'
					if !ok {
						t.Fatalf("%s: Key(%q) = %q has %q", set.name, raw, got, r)
					}
				}
			}
		}
	})
}

// benchKeys is a mix of what source systems send: clean keys, keys needing
// case and delimiter fixes, padded numbers, and some non-ASCII.
var benchKeys = []string{
	"INV-00002024-00000042",
	"inv_2024..0042",
	"  SKU#ab / 7 ",
	"000000000123",
	"PO-2024-11-0007",
	"a--b",
	"loc:WH1|bin:A-17",
	"Ünï-1",
	"CUST 000482\u00a0DE",
	"ORD/2023/ABCD/99999999999",
}

func BenchmarkNormalize(b *testing.B) {
	n := New(opt(pad(8)))
	buf := make([]byte, 0, 256)
	var bytes int64
	for _, k := range benchKeys {
		bytes += int64(len(k))
	}
	b.SetBytes(bytes / int64(len(benchKeys)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = n.Append(buf[:0], benchKeys[i%len(benchKeys)])
	}
}

func TestTrace(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		raw  string
		want []Step
	}{
		{"spec example", opt(pad(8)), "  inv_2024..0042 ", []Step{
			{StepTrim, "inv_2024..0042", true},
			{StepUppercase, "INV_2024..0042", true},
			{StepStrip, "INV_2024..0042", true},
			{StepCollapse, "INV-2024-0042", true},
			{StepPad, "INV-00002024-00000042", true},
		}},
		{"symbols stripped", opt(pad(8)), "SKU#ab / 7", []Step{
			{StepTrim, "SKU#ab / 7", true},
			{StepUppercase, "SKU#AB / 7", true},
			{StepStrip, "SKUAB / 7", true},
			{StepCollapse, "SKUAB-7", true},
			{StepPad, "SKUAB-00000007", true},
		}},
		{"steps off keep the value", Options{Delimiters: DefaultDelimiters}, " a-b ", []Step{
			{StepTrim, "a-b", true},
			{StepUppercase, "a-b", false},
			{StepStrip, "a-b", false},
			{StepCollapse, "a-b", false},
			{StepPad, "a-b", false},
		}},
		{"no collapse strips delimiters", opt(func(o *Options) { o.CollapseDelims = ""; o.PadNumbers = 4 }), "x_1", []Step{
			{StepTrim, "x_1", true},
			{StepUppercase, "X_1", true},
			{StepStrip, "X1", true},
			{StepCollapse, "X1", false},
			{StepPad, "X1", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := New(tt.opts).Trace(tt.raw)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Trace(%q) =\n%+v\nwant\n%+v", tt.raw, got, tt.want)
			}
		})
	}
}
