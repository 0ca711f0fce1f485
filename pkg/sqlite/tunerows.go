package sqlite

// The rows `keysync tune` compares: the run's staged raw keys, read once,
// and for each option set their new keys as integers, handed to SQL in key
// order through a virtual table.

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite/vtab"

	"github.com/keysync/keysync/pkg/normalize"
)

// stagedRawKeys are the raw keys of a run's staged rows and the system of
// each, end to end in one buffer: a few bytes a row beyond the keys
// themselves, read from the staging files once for every option set.
type stagedRawKeys struct {
	raw    []byte
	ends   []uint32 // raw key i is raw[ends[i-1]:ends[i]]
	system []uint8  // staging system_id of row i (1 to 62)
}

func (s *stagedRawKeys) len() int { return len(s.ends) }

// key is raw key i, a view of the buffer (never written once read).
func (s *stagedRawKeys) key(i int) string {
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return bufString(s.raw, int(start), int(s.ends[i]))
}

// readStagedRawKeys reads the raw key and system of every row of the
// staging file attached to db as schema (staging_N).
func readStagedRawKeys(ctx context.Context, db *sql.DB, schema string) (*stagedRawKeys, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+schema+".staging_rows").Scan(&n); err != nil {
		return nil, fmt.Errorf("count the rows of %s: %w", schema, err)
	}
	s := &stagedRawKeys{ends: make([]uint32, 0, n), system: make([]uint8, 0, n)}
	rows, err := db.QueryContext(ctx, "SELECT system_id, detail FROM "+schema+".staging_rows")
	if err != nil {
		return nil, fmt.Errorf("read the rows of %s: %w", schema, err)
	}
	defer rows.Close()
	var (
		system int64
		detail sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&system, &detail); err != nil {
			return nil, fmt.Errorf("read the rows of %s: %w", schema, err)
		}
		if system < 1 || system > maxSystems {
			return nil, fmt.Errorf("read the rows of %s: system_id %d out of range", schema, system)
		}
		raw, err := detailRawKey([]byte(detail))
		if err != nil {
			return nil, fmt.Errorf("read the rows of %s: %w", schema, err)
		}
		if len(s.raw)+len(raw) > math.MaxUint32 {
			return nil, fmt.Errorf("read the rows of %s: over 4 GiB of raw keys in one staging file", schema)
		}
		s.raw = append(s.raw, raw...)
		s.ends = append(s.ends, uint32(len(s.raw)))
		s.system = append(s.system, uint8(system))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the rows of %s: %w", schema, err)
	}
	if cap(s.raw) > len(s.raw)+len(s.raw)/4 {
		s.raw = append([]byte(nil), s.raw...) // give back what append doubled
	}
	return s, nil
}

// detailRawKey is the raw key of a packed detail (see appendDetail), a
// view of it: "record:len(raw):len(entity):len(location):" then the fields.
func detailRawKey[T string | []byte](detail T) (T, error) {
	rest := detail
	var rawLen int
	for i := range 4 {
		n, j := 0, 0
		for ; j < len(rest) && '0' <= rest[j] && rest[j] <= '9' && n < 1<<40; j++ {
			n = n*10 + int(rest[j]-'0')
		}
		if j == 0 || j == len(rest) || rest[j] != ':' {
			return rest[:0], fmt.Errorf("malformed detail %q", detail)
		}
		if i == 1 {
			rawLen = n
		}
		rest = rest[j+1:]
	}
	if rawLen > len(rest) {
		return rest[:0], fmt.Errorf("malformed detail %q", detail)
	}
	return rest[:rawLen], nil
}

// tuneRow is one staged row under an option set: its new key as key_id (a
// 63-bit hash, as a run's), and key_check (a second hash, 58 bits) and
// system_id packed in one word, so a row takes 16 bytes.
type tuneRow struct {
	keyID       int64
	checkSystem uint64 // key_check<<6 | system_id
}

func (r tuneRow) systemID() int64 { return int64(r.checkSystem & 63) }
func (r tuneRow) keyCheck() int64 { return int64(r.checkSystem >> 6) }

// tuneBuffers hold the rows of one option set and the sort's scratch
// space, reused from one option set to the next.
type tuneBuffers struct{ rows, tmp []tuneRow }

// fill normalizes every staged raw key with n and fills b.rows with the
// rows of pass (of passes) whose new key is not empty (an empty key would
// be rejected), sorted by key_id. A pass takes the key_ids of one of
// passes equal ranges, so every row of a key is in the same pass, and the
// rows of all passes together are those of the option set. It reports
// whether two different new keys share a key_id: rows of one key_id that
// disagree on key_check.
func (b *tuneBuffers) fill(ctx context.Context, parts []*stagedRawKeys, n *normalize.Normalizer, h keyHasher, pass, passes int) (collided bool, err error) {
	width := uint64(math.MaxInt64)/uint64(passes) + 1
	lo := uint64(pass) * width
	hi := lo + width // key_ids are below 2^63 <= passes*width
	rows := b.rows[:0]
	var buf []byte
	for _, p := range parts {
		for i := range p.len() {
			if i%(1<<16) == 0 && ctx.Err() != nil {
				return false, ctx.Err()
			}
			buf = n.Append(buf[:0], p.key(i))
			if len(buf) == 0 {
				continue
			}
			id, check := h.ids(bufString(buf, 0, len(buf)))
			if uint64(id) < lo || uint64(id) >= hi {
				continue
			}
			rows = append(rows, tuneRow{keyID: id, checkSystem: uint64(check)<<6 | uint64(p.system[i])})
		}
	}
	b.rows = rows
	b.tmp = sortTuneRows(rows, b.tmp)
	for i := 1; i < len(rows); i++ {
		if rows[i].keyID == rows[i-1].keyID && rows[i].keyCheck() != rows[i-1].keyCheck() {
			return true, nil
		}
	}
	return false, nil
}

// sortTuneRows sorts rows by key_id (rows of one key_id in no particular
// order): an in-place counting sort on the key_ids' top byte (bits 55 to 62: they are
// uniform hashes, so 256 buckets of about equal size), then each bucket by
// its seven lower bytes, least significant first, through a scratch space
// the size of a bucket. That is about four times as fast as a comparison
// sort on millions of rows and needs no second copy of them. It uses tmp as
// the scratch space, or a larger one when tmp is too short, and returns
// the scratch space for the next call.
func sortTuneRows(rows, tmp []tuneRow) []tuneRow {
	if len(rows) < 1<<12 {
		slices.SortFunc(rows, func(a, b tuneRow) int { return cmp.Compare(a.keyID, b.keyID) })
		return tmp
	}
	top := func(r tuneRow) byte { return byte(uint64(r.keyID) >> 55) }
	var start, next [257]int
	for _, r := range rows {
		start[int(top(r))+1]++
	}
	for b := 1; b <= 256; b++ {
		start[b] += start[b-1]
	}
	next = start
	for b := range 256 {
		// Swap each row of bucket b's range that belongs elsewhere into the
		// next free place of its own bucket, until the range is b's alone.
		for next[b] < start[b+1] {
			r := rows[next[b]]
			for d := int(top(r)); d != b; d = int(top(r)) {
				rows[next[d]], r = r, rows[next[d]]
				next[d]++
			}
			rows[next[b]] = r
			next[b]++
		}
	}
	for b := range 256 {
		bucket := rows[start[b]:start[b+1]]
		if len(tmp) < len(bucket) {
			tmp = make([]tuneRow, len(bucket))
		}
		radixSortLow(bucket, tmp[:len(bucket)])
	}
	return tmp
}

// radixSortLow sorts rows stably by the seven lower bytes of key_id, least
// significant first, through tmp (as long as rows).
func radixSortLow(rows, tmp []tuneRow) {
	if len(rows) < 2 {
		return
	}
	src, dst := rows, tmp
	for shift := uint(0); shift < 56; shift += 8 {
		var count [256]int
		for _, r := range src {
			count[byte(uint64(r.keyID)>>shift)]++
		}
		if count[byte(uint64(src[0].keyID)>>shift)] == len(src) {
			continue // every row has this byte: the pass would change nothing
		}
		pos := 0
		for b, c := range count {
			count[b], pos = pos, pos+c
		}
		for _, r := range src {
			b := byte(uint64(r.keyID) >> shift)
			dst[count[b]] = r
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &rows[0] {
		copy(rows, src)
	}
}

// The virtual table keysync_tune_rows hands one tune slot's rows to SQL:
//
//	CREATE VIRTUAL TABLE temp.tune_rows USING keysync_tune_rows(slot)
//
// gives the columns key_id and system_id of the rows last put in the slot
// (putTuneRows), in key_id order, which it tells SQLite, so a GROUP BY
// key_id streams instead of sorting millions of rows again (SQLite's sort
// was most of tune's time).
const tuneRowsModule = "keysync_tune_rows"

var (
	tuneSlots    sync.Map // slot id (string) -> *[]tuneRow, nil while no rows are put
	nextTuneSlot atomic.Int64
)

// newTuneSlot reserves a slot for one connection's rows, holding none yet;
// free it with tuneSlots.Delete.
func newTuneSlot() string {
	id := strconv.FormatInt(nextTuneSlot.Add(1), 10)
	clearTuneRows(id)
	return id
}

// putTuneRows makes rows what the slot's table returns from its next scan.
func putTuneRows(slot string, rows []tuneRow) {
	tuneSlots.Store(slot, &rows)
}

// clearTuneRows takes the rows out of the slot: a scan fails until the
// next putTuneRows, rather than count nothing.
func clearTuneRows(slot string) {
	tuneSlots.Store(slot, (*[]tuneRow)(nil))
}

func init() {
	if err := vtab.RegisterModule(nil, tuneRowsModule, tuneRowsTable{}); err != nil {
		panic(fmt.Sprintf("register %s: %v", tuneRowsModule, err))
	}
}

// tuneRowsTable is the module and, with its slot set, a table of it.
type tuneRowsTable struct{ slot string }

func (m tuneRowsTable) Create(ctx vtab.Context, args []string) (vtab.Table, error) {
	return m.Connect(ctx, args)
}

// Connect takes the slot as the one module argument (args are the module,
// schema and table names, then the arguments).
func (tuneRowsTable) Connect(ctx vtab.Context, args []string) (vtab.Table, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("%s: want one argument, a slot, got %q", tuneRowsModule, args[3:])
	}
	slot := strings.TrimSpace(args[3])
	if _, ok := tuneSlots.Load(slot); !ok {
		return nil, fmt.Errorf("%s: no slot %q", tuneRowsModule, slot)
	}
	return tuneRowsTable{slot: slot}, ctx.Declare("CREATE TABLE x(key_id INTEGER, system_id INTEGER)")
}

// BestIndex says the rows come in key_id order, which they do.
func (t tuneRowsTable) BestIndex(info *vtab.IndexInfo) error {
	if v, ok := tuneSlots.Load(t.slot); ok && v.(*[]tuneRow) != nil {
		info.EstimatedRows = int64(len(*v.(*[]tuneRow)))
	}
	if len(info.OrderBy) == 1 && info.OrderBy[0].Column == 0 && !info.OrderBy[0].Desc {
		info.OrderByConsumed = true
	}
	return nil
}

func (t tuneRowsTable) Open() (vtab.Cursor, error) { return &tuneRowsCursor{slot: t.slot}, nil }
func (tuneRowsTable) Disconnect() error            { return nil }
func (tuneRowsTable) Destroy() error               { return nil }

type tuneRowsCursor struct {
	slot string
	rows []tuneRow
	i    int
}

func (c *tuneRowsCursor) Filter(int, string, []vtab.Value) error {
	v, ok := tuneSlots.Load(c.slot)
	if !ok {
		return fmt.Errorf("%s: slot %q is gone", tuneRowsModule, c.slot)
	}
	rows := v.(*[]tuneRow)
	if rows == nil {
		return fmt.Errorf("%s: slot %q holds no rows: put them before the scan", tuneRowsModule, c.slot)
	}
	c.rows, c.i = *rows, 0
	return nil
}

func (c *tuneRowsCursor) Next() error { c.i++; return nil }
func (c *tuneRowsCursor) Eof() bool   { return c.i >= len(c.rows) }

func (c *tuneRowsCursor) Column(col int) (vtab.Value, error) {
	r := c.rows[c.i]
	switch col {
	case 0:
		return r.keyID, nil
	case 1:
		return r.systemID(), nil
	}
	return nil, fmt.Errorf("%s: no column %d", tuneRowsModule, col)
}

func (c *tuneRowsCursor) Rowid() (int64, error) { return int64(c.i), nil }
func (c *tuneRowsCursor) Close() error          { c.rows = nil; return nil }
