package gen

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
)

// header is the first line of every file: the contract fields of SPEC §3.
const header = "source_system,source_key,entity_type,location_ref,last_seen_at"

// locations are location_ref values, already CSV-encoded: some quoted because
// of a comma or a quote, one with non-ASCII letters, one empty.
var locations = [...]string{
	"EU-CENTRAL", "EU-WEST", "US-EAST", "US-WEST", "APAC", "WH-MUC-03", "WH-RTM-04", "WH-SGP-06",
	`"Berlin, DE"`, `"WH-RTM-04, Bay 22"`, `"WH-SGP-06, Bay 11"`, `"Lyon, FR"`,
	"Lager München", `"Dock ""7"", Rotterdam"`, "Hall 2", "",
}

// delims are the delimiter runs peers put between key segments; every
// character is one of the default delimiters of SPEC §4.
var delims = [...]string{"-", "_", ".", "/", " ", "--", "__", "..", " / ", ":", "|", `\`, "-_", ". ", "\t", "_-_"}

// Letter cases of a spelling.
const (
	caseUpper = iota
	caseLower
	caseTitle // first letter of each segment upper, the rest lower
	caseMixed // each letter at random
)

// Timestamp styles of last_seen_at: the three formats SPEC §3 accepts, the
// first with a Z or with an offset.
const (
	tsRFC3339Z = iota
	tsDateTime
	tsDate
	tsRFC3339Offset
)

// offsets are the UTC offsets of tsRFC3339Offset, in seconds and as written.
var offsets = [...]struct {
	secs int64
	text string
}{{3600, "+01:00"}, {7200, "+02:00"}, {-5 * 3600, "-05:00"}, {5*3600 + 1800, "+05:30"}}

// Timestamps fall in 2024 (a leap year, so February 29 occurs).
const (
	tsBase = 1704067200 // 2024-01-01T00:00:00Z
	tsSpan = 366 * 86400
)

// checkEvery is how many rows pass between two looks at ctx.
const checkEvery = 1 << 14

// fileWriter writes one system's file. Its spelling habits (preferred
// delimiter, letter case, zero padding) come from the system name, so each
// peer is messy in its own recognisable way; its timestamp habit comes from
// its place in the file list (A: RFC 3339 with Z, then date-time, date,
// RFC 3339 with an offset, in turn), so the default peers show every format,
// and every fourth peer (E by default) is a Windows export with BOM and CRLF.
type fileWriter struct {
	plan *Plan
	name string
	salt uint64
	peer bool
	crlf bool // a Windows export: BOM and CRLF
	pcg  *rand.PCG

	delim string // habitual delimiter run
	lcase int    // habitual letter case
	pad   int    // habitual width of numbers; 0 drops leading zeros
	ts    int    // habitual timestamp style
}

// newFileWriter prepares the writer of system name, the index-th file (A is 0).
func newFileWriter(plan *Plan, seed uint64, name string, index int) *fileWriter {
	salt := peerSalt(name)
	w := &fileWriter{
		plan: plan,
		name: name,
		salt: salt,
		peer: index > 0,
		crlf: index%4 == 0 && index > 0,
		pcg:  rand.NewPCG(seed, salt),
		ts:   index % 4,
	}
	w.delim = delims[salt%uint64(len(delims))]
	w.lcase = int(salt>>8) % 3 // habits are never caseMixed; single rows are
	w.pad = [...]int{0, 0, 5, 6, 7, 9, 10, 12}[(salt>>16)%8]
	return w
}

// write streams the whole file to out and returns its number of data rows.
func (w *fileWriter) write(ctx context.Context, out io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(out, 1<<20)
	eol := "\n"
	if w.crlf {
		eol = "\r\n"
		bw.WriteString("\uFEFF")
	}
	bw.WriteString(header)
	bw.WriteString(eol)

	p := w.plan
	var rows int64
	emit := func(kp keyParts, messy bool) error {
		b := bw.AvailableBuffer()
		b = w.appendRow(b, kp, messy)
		b = append(b, eol...)
		_, err := bw.Write(b)
		rows++
		return err
	}
	for i := uint64(0); i < p.rows; i++ {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
		}
		if !w.peer {
			if err := emit(p.parts(i), false); err != nil {
				return rows, err
			}
			continue
		}
		if p.hasKey(w.salt, i) {
			if err := emit(p.parts(i), true); err != nil {
				return rows, err
			}
		}
		// The second spelling of key k comes dupShift rows after the first
		// (wrapping around), as duplicates rarely sit side by side.
		if k := (i + p.rows - p.dupShift) % p.rows; p.dupKey(w.salt, k) {
			if err := emit(p.parts(k), true); err != nil {
				return rows, err
			}
		}
		if p.extraKey(w.salt, i) {
			if err := emit(p.parts(p.rows+i), true); err != nil {
				return rows, err
			}
		}
	}
	return rows, bw.Flush()
}

// appendRow appends one record without its line end.
func (w *fileWriter) appendRow(b []byte, kp keyParts, messy bool) []byte {
	x := w.pcg.Uint64()
	if x&63 == 0 {
		b = append(b, '"')
		b = append(b, w.name...)
		b = append(b, '"')
	} else {
		b = append(b, w.name...)
	}
	b = append(b, ',')

	quote := x>>6&31 == 0
	if quote {
		b = append(b, '"')
	}
	if messy {
		b = w.appendMessy(b, kp)
	} else {
		b = w.plan.appendClean(b, kp)
	}
	if quote {
		b = append(b, '"')
	}
	b = append(b, ',')
	b = append(b, families[kp.fam].entity...)
	b = append(b, ',')
	b = append(b, locations[x>>11%uint64(len(locations))]...)
	b = append(b, ',')
	return w.appendTimestamp(b, x>>16)
}

// appendMessy appends a spelling of kp that normalizes (SPEC §4, defaults with
// pad_numbers: 8) to the same key as A's spelling. What keeps it so:
// segments are always separated by at least one delimiter; letters change
// only in case; numbers change only in leading zeros; anything else added
// ('#', blanks) is stripped or trimmed and sits next to a delimiter or at an
// end, never between two segments.
func (w *fileWriter) appendMessy(b []byte, kp keyParts) []byte {
	x, y := w.pcg.Uint64(), w.pcg.Uint64()

	switch x & 63 { // surrounding blanks and '#', leading
	case 0, 1:
		b = append(b, ' ')
	case 2:
		b = append(b, "  "...)
	case 3:
		b = append(b, '\t')
	case 4, 5:
		b = append(b, "# "...)
	case 6:
		b = append(b, '#')
	}
	x >>= 6

	lcase := w.lcase
	if x&7 >= 5 {
		lcase = int(x>>3) & 3
	}
	x >>= 5

	fam := &families[kp.fam]
	b = appendLetters(b, fam.prefix, lcase, &y)
	if kp.year != 0 {
		b = w.appendDelim(b, &x)
		b = w.appendNumber(b, kp.year, 4, &x)
	}
	if kp.code != "" {
		b = w.appendDelim(b, &x)
		b = appendLetters(b, kp.code, lcase, &y)
	}
	b = w.appendDelim(b, &x)
	if x&31 == 0 {
		b = append(b, '#')
	}
	x >>= 5
	b = w.appendNumber(b, kp.num, w.plan.width, &x)

	switch x & 31 { // trailing
	case 0, 1:
		b = append(b, ' ')
	case 2:
		b = append(b, '#')
	case 3:
		b = append(b, " #"...)
	case 4:
		b = append(b, "  "...)
	}
	return b
}

// appendDelim appends a delimiter run: mostly the habitual one, sometimes
// another, sometimes doubled. It consumes 9 bits of *bits.
func (w *fileWriter) appendDelim(b []byte, bits *uint64) []byte {
	x := *bits
	*bits = x >> 9
	d := w.delim
	if x&7 >= 6 {
		d = delims[x>>3&15]
	}
	b = append(b, d...)
	if x>>7&3 == 0 {
		b = append(b, d...)
	}
	return b
}

// appendNumber appends v with leading zeros added or dropped: none at all,
// A's width, the habitual width, or one or two more than A. It consumes 2
// bits of *bits.
func (w *fileWriter) appendNumber(b []byte, v uint64, width int, bits *uint64) []byte {
	x := *bits
	*bits = x >> 2
	switch x & 3 {
	case 0:
		width = 0
	case 1:
		width = w.pad
	case 3:
		width += 1 + int(x>>2&1)
		*bits >>= 1
	}
	return appendPadded(b, v, width)
}

// appendLetters appends the upper-case ASCII segment s in letter case lcase,
// drawing random bits from *bits for caseMixed.
func appendLetters(b []byte, s string, lcase int, bits *uint64) []byte {
	for k := 0; k < len(s); k++ {
		c := s[k]
		lower := false
		switch lcase {
		case caseLower:
			lower = true
		case caseTitle:
			lower = k > 0
		case caseMixed:
			lower = *bits&1 == 1
			*bits >>= 1
		}
		if lower {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendTimestamp appends a last_seen_at: mostly in the file's habitual
// style, otherwise in another; peers leave one in 64 empty. It uses up to 48
// bits of x and draws the instant itself from the PCG stream.
func (w *fileWriter) appendTimestamp(b []byte, x uint64) []byte {
	style := w.ts
	switch {
	case w.peer && x&63 == 0:
		return b
	case x>>6&7 >= 6: // a quarter of rows in some other style
		style = int(x >> 9 & 3)
	}
	secs := int64(tsBase + w.pcg.Uint64()%tsSpan)
	var off string
	if style == tsRFC3339Offset {
		o := offsets[x>>11&3]
		secs += o.secs
		off = o.text
	}
	days, sod := secs/86400, secs%86400
	y, m, d := civil(days)
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, m, 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	if style == tsDate {
		return b
	}
	if style == tsDateTime {
		b = append(b, ' ')
	} else {
		b = append(b, 'T')
	}
	b = appendDigits(b, sod/3600, 2)
	b = append(b, ':')
	b = appendDigits(b, sod/60%60, 2)
	b = append(b, ':')
	b = appendDigits(b, sod%60, 2)
	switch style {
	case tsRFC3339Z:
		b = append(b, 'Z')
	case tsRFC3339Offset:
		b = append(b, off...)
	}
	return b
}

// appendDigits appends v (non-negative) as exactly n decimal digits.
func appendDigits(b []byte, v int64, n int) []byte {
	var buf [20]byte
	for k := n - 1; k >= 0; k-- {
		buf[k] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:n]...)
}

// civil converts days since 1970-01-01 (non-negative) to a proleptic
// Gregorian date (Howard Hinnant's civil_from_days).
func civil(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}
