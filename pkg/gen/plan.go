package gen

import (
	"hash/fnv"
	"math"
	"strconv"
)

// Coverage is the share of A's keys each peer has; the rest are missing from it.
const Coverage = 0.97

// family is one kind of key: a letter prefix, an optional letter code or year
// segment, and a sequence number.
type family struct {
	prefix string
	entity string   // the entity_type column
	codes  []string // a letter segment after the prefix, picked by key; nil for none
	year   bool     // a year segment after the prefix (INV-2024-…)
}

var families = [...]family{
	{prefix: "INV", entity: "invoice", year: true},
	{prefix: "SKU", entity: "sku", codes: []string{"HD", "KB", "MS", "DK", "LP", "TV", "CB", "PW"}},
	{prefix: "CUST", entity: "customer"},
	{prefix: "AST", entity: "asset", codes: []string{"US", "AP", "EU", "MX", "BR", "IN"}},
}

// pattern is the family of key i by i % len(pattern): invoices are the most
// common, assets the rarest, and the families interleave irregularly.
var pattern = [...]uint8{0, 1, 0, 2, 1, 0, 3, 2}

// perCycle[f] is how often family f occurs in pattern; rank[s] is how many
// times pattern[s] occurred before position s. Key i is then number
// (i/len(pattern))*perCycle[f] + rank[i%len(pattern)] of its family, which
// makes (family, number) a bijection of i.
var perCycle, rank = func() (pc [len(families)]uint64, rk [len(pattern)]uint64) {
	for s, f := range pattern {
		rk[s] = pc[f]
		pc[f]++
	}
	return pc, rk
}()

// Purposes of the per-(peer, i) hash, so the decisions are independent.
const (
	rollHas uint64 = iota + 1
	rollDup
	rollExtra
	rollShared
)

// Plan says, for one set of Options, what every file holds: A's keys and, for
// each peer, which of them it has, which it spells twice and which extra keys
// it has. It keeps no per-key state, and is safe for concurrent use.
type Plan struct {
	rows     uint64
	seed     uint64                   // mixed
	mod      uint64                   // a power of ten the scrambled sequence numbers of A stay under
	width    int                      // the digits of mod-1: A writes sequence numbers zero-padded to it
	bits     uint                     // the smallest power of two >= mod is 1<<bits
	keys     [len(families)][3]uint64 // per family, the odd multipliers and offset of permute
	dupShift uint64                   // a peer's second spelling of key k comes at position k+dupShift

	has, dup, extra, shared uint64 // thresholds of the hash, out of 2^64
}

// NewPlan returns the plan of o. It does not validate o; Write does.
func NewPlan(o Options) *Plan {
	p := &Plan{rows: uint64(max(o.Rows, 0)), seed: mix(o.Seed ^ 0x6b657973796e63)}
	// The largest family number of A is below (rows/8+1)*3; start at 10^4 so
	// small files still have realistic numbers.
	p.mod, p.width = 10_000, 4
	for p.mod < (p.rows/uint64(len(pattern))+1)*3 {
		p.mod *= 10
		p.width++
	}
	for uint64(1)<<p.bits < p.mod {
		p.bits++
	}
	for f := range p.keys {
		for k := range p.keys[f] {
			p.keys[f][k] = mix(p.seed+uint64(f*len(p.keys[f])+k+1)) | 1
		}
	}
	p.dupShift = min(1009, p.rows/2)
	p.has = threshold(Coverage)
	p.dup = threshold(o.Dup)
	p.extra = threshold(o.Drift / 2)
	p.shared = threshold(o.Drift / 2)
	return p
}

// Rows is the number of rows (and distinct keys) of A.
func (p *Plan) Rows() int { return int(p.rows) }

// Key returns A's spelling of its key i, for i in [0, Rows).
func (p *Plan) Key(i int) string {
	return string(p.appendClean(nil, p.parts(uint64(i))))
}

// Has reports whether peer has A's key i.
func (p *Plan) Has(peer string, i int) bool {
	return p.hasKey(peerSalt(peer), uint64(i))
}

// Dup reports whether peer spells A's key i on two rows. Only a key the peer
// has can be a duplicate.
func (p *Plan) Dup(peer string, i int) bool {
	return p.dupKey(peerSalt(peer), uint64(i))
}

// Extra reports whether peer has, at position i in [0, Rows), a key that is
// not A's, and returns a clean spelling of it. Extra keys at the same
// position are the same key in every peer that has one there, and about half
// of them are shared by all peers, as when one new key spreads to several
// systems before it reaches A.
func (p *Plan) Extra(peer string, i int) (string, bool) {
	if !p.extraKey(peerSalt(peer), uint64(i)) {
		return "", false
	}
	return string(p.appendClean(nil, p.parts(p.rows+uint64(i)))), true
}

func (p *Plan) hasKey(salt, i uint64) bool { return p.roll(salt, i, rollHas) < p.has }

func (p *Plan) dupKey(salt, i uint64) bool {
	return p.hasKey(salt, i) && p.roll(salt, i, rollDup) < p.dup
}

func (p *Plan) extraKey(salt, i uint64) bool {
	return p.roll(0, i, rollShared) < p.shared || p.roll(salt, i, rollExtra) < p.extra
}

// roll is a uniform 64-bit hash of (seed, salt, i, purpose).
func (p *Plan) roll(salt, i, purpose uint64) uint64 {
	return mix(p.seed ^ salt ^ mix(i+purpose*0x9e3779b97f4a7c15))
}

// keyParts is one key before it is spelled.
type keyParts struct {
	fam  uint8
	year uint64 // 0 when the family has no year segment
	code string // "" when the family has no code segment
	num  uint64
}

// parts returns key i: A's keys for i < Rows, extra keys beyond. Distinct i
// give distinct (family, number) pairs, hence distinct normalized keys.
func (p *Plan) parts(i uint64) keyParts {
	c := i / uint64(len(pattern))
	// Rotating the pattern per cycle permutes the positions of the cycle, so
	// the bijection holds while the families lose their fixed period.
	s := (i + mix(c^p.seed)) % uint64(len(pattern))
	f := pattern[s]
	n := p.number(f, c*perCycle[f]+rank[s])
	kp := keyParts{fam: f, num: n}
	fam := &families[f]
	if fam.year {
		kp.year = 2019 + n%7
	}
	if fam.codes != nil {
		kp.code = fam.codes[(n/7)%uint64(len(fam.codes))]
	}
	return kp
}

// number scrambles family f's number j into a sequence number: the low part
// (j % mod) goes through a bijection of [0, mod), the high part is kept, so
// the result is a bijection of j that looks random rather than counting up.
// The bijection of [0, mod) walks the cycle of permute, a bijection of
// [0, 2^bits), until it is back below mod (on average in under two steps).
func (p *Plan) number(f uint8, j uint64) uint64 {
	hi, lo := j/p.mod, j%p.mod
	for {
		lo = permute(lo, &p.keys[f], p.bits)
		if lo < p.mod {
			return hi*p.mod + lo
		}
	}
}

// permute is a bijection of [0, 2^bits): each step (multiplying by an odd
// number, adding, xor with a right shift, all modulo 2^bits) is invertible.
func permute(x uint64, k *[3]uint64, bits uint) uint64 {
	mask := uint64(1)<<bits - 1
	h := bits / 2
	x = (x*k[0] + k[2]) & mask
	x ^= x >> h
	x = (x * k[1]) & mask
	x ^= x >> h
	x = (x * k[0]) & mask
	x ^= x >> h
	return x
}

// appendClean appends A's spelling of kp: upper case, '-' between segments,
// the number zero-padded to the plan's width, e.g. INV-2024-0042817.
func (p *Plan) appendClean(dst []byte, kp keyParts) []byte {
	fam := &families[kp.fam]
	dst = append(dst, fam.prefix...)
	if kp.year != 0 {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, kp.year, 10)
	}
	if kp.code != "" {
		dst = append(dst, '-')
		dst = append(dst, kp.code...)
	}
	dst = append(dst, '-')
	return appendPadded(dst, kp.num, p.width)
}

// appendPadded appends v in decimal, left-padded with zeros to width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	for d := digits(v); d < width; d++ {
		dst = append(dst, '0')
	}
	return strconv.AppendUint(dst, v, 10)
}

func digits(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// threshold turns a probability in [0, 1) into a bound on a uniform uint64.
func threshold(prob float64) uint64 {
	if !(prob > 0) {
		return 0
	}
	if prob >= 1 {
		return math.MaxUint64
	}
	return uint64(math.Ldexp(prob, 64))
}

// peerSalt is the per-system input of the hash and of the PCG stream.
func peerSalt(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return mix(h.Sum64())
}

// mix is the splitmix64 finalizer: a bijection of uint64 with good avalanche.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
