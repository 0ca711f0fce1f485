package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// class is what a character is to the strip and collapse steps.
type class uint8

const (
	classOther class = iota // neither an ASCII letter/digit nor a delimiter: stripped
	classAlnum              // ASCII letter or digit: always kept
	classDelim              // a delimiter: collapsed, or removed when collapsing is off
)

// Normalizer applies one option set. Build it with New; the zero value is not
// usable. A Normalizer is immutable and safe for concurrent use.
type Normalizer struct {
	ascii     [256]class // class of each ASCII byte, after upper-casing; bytes >= 0x80 are unused
	wideDelim []rune     // non-ASCII delimiters besides Unicode white space
	upper     bool
	strip     bool
	collapse  string
	pad       int
}

// New prepares a Normalizer for opts, precomputing the delimiter table so that
// Append does no setup per key.
//
// The delimiters are the characters of opts.Delimiters plus every Unicode
// white-space character. A delimiter takes precedence over being an ASCII
// letter or digit, so a configured letter delimiter is collapsed, not kept.
//
// Two adjustments keep normalization idempotent for option sets that config
// validation would refuse, since the spec's literal steps would not be:
//
//   - The characters of opts.CollapseDelims always count as delimiters (config
//     validation requires it anyway), and with Uppercase also their upper-case
//     forms. Otherwise the collapse string written by one pass would be
//     stripped or upper-cased by the next.
//   - Invalid UTF-8 bytes in opts.Delimiters and opts.CollapseDelims are
//     ignored; a collapse string left empty turns collapsing off.
//
// A PadNumbers of zero or less turns padding off.
func New(opts Options) *Normalizer {
	n := &Normalizer{
		upper:    opts.Uppercase,
		strip:    opts.StripNonAlnum,
		collapse: strings.ToValidUTF8(opts.CollapseDelims, ""),
		pad:      opts.PadNumbers,
	}
	if n.pad < 0 {
		n.pad = 0
	}
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			n.ascii[c] = classAlnum
		case unicode.IsSpace(rune(c)):
			n.ascii[c] = classDelim
		}
	}
	add := func(r rune) {
		switch {
		case r < utf8.RuneSelf:
			n.ascii[r] = classDelim
		case !unicode.IsSpace(r) && !n.isWideDelim(r):
			n.wideDelim = append(n.wideDelim, r)
		}
	}
	addAll := func(s string, withUpper bool) {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				i++ // an invalid byte, not a character
				continue
			}
			add(r)
			if withUpper {
				add(unicode.ToUpper(r))
			}
			i += size
		}
	}
	addAll(opts.Delimiters, false)
	addAll(n.collapse, n.upper)
	return n
}

func (n *Normalizer) isWideDelim(r rune) bool {
	for _, d := range n.wideDelim {
		if d == r {
			return true
		}
	}
	return false
}

// Key returns the normalized key of raw; "" means the row is rejected as
// empty_key. It allocates only the returned string; use Append in loops.
func (n *Normalizer) Key(raw string) string {
	var buf [64]byte
	return string(n.Append(buf[:0], raw))
}

// Append appends the normalized key of raw to dst and returns the extended
// slice. It allocates only when dst lacks capacity, and never changes
// dst[:len(dst)].
//
// Invalid UTF-8 bytes in raw count as characters that are neither letters,
// digits nor delimiters: they are stripped when stripping and otherwise kept
// byte for byte (callers reject such keys as invalid_utf8 first).
func (n *Normalizer) Append(dst []byte, raw string) []byte {
	s := strings.TrimSpace(raw)
	keyStart := len(dst)
	segStart := keyStart // start of the current segment for padding
	digits := true       // the current segment is made only of ASCII digits so far
	pending := false     // a delimiter run has been seen since the last kept character
	collapsing := n.collapse != ""

	for i := 0; i < len(s); {
		c := s[i]
		var (
			r    rune
			size int
			cl   class
		)
		if c < utf8.RuneSelf {
			if n.upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			r, size, cl = rune(c), 1, n.ascii[c]
		} else {
			r, size = utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				cl = classOther
			default:
				if n.upper {
					r = unicode.ToUpper(r)
				}
				cl = n.classify(r)
			}
		}

		switch {
		case cl == classDelim && collapsing:
			// Runs at the start are dropped; runs at the end are never flushed.
			pending = len(dst) > keyStart
			i += size
			continue
		case cl == classDelim && n.strip, cl == classOther && n.strip:
			// Stripped characters vanish before collapsing, so they do not
			// split a delimiter run: "a -#- b" is one run.
			i += size
			continue
		}

		if pending {
			dst = n.endSegment(dst, segStart, digits)
			dst = append(dst, n.collapse...)
			segStart, digits, pending = len(dst), true, false
		}
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[i]) // keep the invalid byte as it was
			digits = false
		} else if r < utf8.RuneSelf {
			dst = append(dst, byte(r))
			digits = digits && '0' <= r && r <= '9'
		} else {
			dst = utf8.AppendRune(dst, r)
			digits = false
		}
		i += size
	}
	return n.endSegment(dst, segStart, digits)
}

// classify returns the class of a non-invalid rune already upper-cased.
func (n *Normalizer) classify(r rune) class {
	if r < utf8.RuneSelf {
		return n.ascii[r]
	}
	if unicode.IsSpace(r) || n.isWideDelim(r) {
		return classDelim
	}
	return classOther
}

// endSegment pads dst[segStart:], the segment just finished, when padding is
// on and the segment is a non-empty run of ASCII digits: it drops leading
// zeros (keeping one digit) and left-pads with '0' to the pad width. Longer
// numbers are kept whole. An empty key is not a number: padding it would turn
// every empty_key rejection ("-_-") into "00000000".
func (n *Normalizer) endSegment(dst []byte, segStart int, digits bool) []byte {
	l := len(dst) - segStart
	if n.pad <= 0 || !digits || l == 0 {
		return dst
	}
	z := 0
	for z < l-1 && dst[segStart+z] == '0' {
		z++
	}
	keep := l - z // significant digits, at least one
	width := max(keep, n.pad)
	if width == l {
		return dst // already in normal form
	}
	for len(dst) < segStart+width {
		dst = append(dst, '0')
	}
	// copy is a memmove, so the overlapping shift is safe in both directions.
	copy(dst[segStart+width-keep:], dst[segStart+z:segStart+l])
	for i := segStart; i < segStart+width-keep; i++ {
		dst[i] = '0'
	}
	return dst[:segStart+width]
}
