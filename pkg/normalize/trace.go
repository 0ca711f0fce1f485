package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The steps of SPEC §4, in order, as Trace names them.
const (
	StepTrim      = "trim"
	StepUppercase = "uppercase"
	StepStrip     = "strip"
	StepCollapse  = "collapse"
	StepPad       = "pad"
)

// Step is the key after one normalization step. On is false for a step the
// options turn off, which leaves the value as the step before left it.
type Step struct {
	Step  string `json:"step"`
	Value string `json:"value"`
	On    bool   `json:"on"`
}

// Trace normalizes raw one SPEC §4 step at a time and returns the value
// after each step (trim, uppercase, strip, collapse, pad), so a person can
// see which step made two spellings one key. The last value is Key(raw).
//
// It is the slow, allocating twin of Append for `keysync explain`, spelled
// out step by step with the Normalizer's own character classes; the hot path
// never calls it.
func (n *Normalizer) Trace(raw string) []Step {
	collapsing := n.collapse != ""
	steps := make([]Step, 0, 5)

	// A character is a valid rune's encoding or one invalid byte.
	var chars []string
	s := strings.TrimSpace(raw)
	steps = append(steps, Step{StepTrim, s, true})
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			chars = append(chars, s[i:i+1])
		case n.upper:
			chars = append(chars, string(unicode.ToUpper(r)))
		default:
			chars = append(chars, string(r))
		}
		i += size
	}
	steps = append(steps, Step{StepUppercase, strings.Join(chars, ""), n.upper})

	classOf := func(c string) class {
		r, size := utf8.DecodeRuneInString(c)
		if r == utf8.RuneError && size == 1 {
			return classOther
		}
		return n.classify(r)
	}
	if n.strip {
		kept := chars[:0:0]
		for _, c := range chars {
			if cl := classOf(c); cl == classAlnum || cl == classDelim && collapsing {
				kept = append(kept, c)
			}
		}
		chars = kept
	}
	key := strings.Join(chars, "")
	steps = append(steps, Step{StepStrip, key, n.strip})

	if collapsing {
		var b strings.Builder
		run := false
		for _, c := range chars {
			if classOf(c) == classDelim {
				run = true
				continue
			}
			if run && b.Len() > 0 {
				b.WriteString(n.collapse)
			}
			run = false
			b.WriteString(c)
		}
		key = b.String()
	}
	steps = append(steps, Step{StepCollapse, key, collapsing})

	if n.pad > 0 {
		segs := []string{key}
		if collapsing {
			segs = strings.Split(key, n.collapse)
		}
		for i, seg := range segs {
			digits := seg != "" && strings.Trim(seg, "0123456789") == ""
			segs[i] = string(n.endSegment([]byte(seg), 0, digits))
		}
		key = strings.Join(segs, n.collapse)
	}
	return append(steps, Step{StepPad, key, n.pad > 0})
}
