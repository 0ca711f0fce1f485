package source_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"

	"github.com/keysync/keysync/pkg/keysync"
	"github.com/keysync/keysync/pkg/source"
)

// plainCSV is the text every encoding and compression case must read back.
const plainCSV = "source_key,location_ref\r\nÄBC-1,Lager Köln\r\nk2,Hamburg\r\n"

// wantPlain is what plainCSV reads as.
func wantPlain() []keysync.Row {
	return []keysync.Row{
		{Record: 1, Key: testNormalize("ÄBC-1"), RawKey: "ÄBC-1", LocationRef: "Lager Köln"},
		{Record: 2, Key: testNormalize("k2"), RawKey: "k2", LocationRef: "Hamburg"},
	}
}

// encodeAs returns s in enc.
func encodeAs(t testing.TB, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// zipOf builds a zip archive of the named files, in order.
func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		f, err := w.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(files[i+1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeBytes(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestInputEncodingsAndCompression(t *testing.T) {
	win := encodeAs(t, charmap.Windows1252, plainCSV)
	utf16le := encodeAs(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), plainCSV)
	utf16be := encodeAs(t, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), plainCSV)
	bz2, err := os.ReadFile("testdata/keys.csv.bz2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    source.Input
		bytes []byte
		want  []keysync.Row // nil: wantPlain()
	}{
		{name: "utf-8", bytes: []byte(plainCSV)},
		{name: "utf-8 BOM", bytes: append([]byte("\uFEFF"), plainCSV...)},
		{name: "utf-8 BOM wins over windows-1252", in: source.Input{Encoding: "windows-1252"}, bytes: append([]byte("\uFEFF"), plainCSV...)},
		{name: "windows-1252", in: source.Input{Encoding: "windows-1252"}, bytes: win},
		{name: "latin1 label", in: source.Input{Encoding: "Latin1"}, bytes: win},
		{name: "iso-8859-15", in: source.Input{Encoding: "iso-8859-15"}, bytes: encodeAs(t, charmap.ISO8859_15, plainCSV)},
		{name: "utf-16le BOM under utf-8", bytes: append([]byte{0xFF, 0xFE}, utf16le...)},
		{name: "utf-16be BOM under windows-1252", in: source.Input{Encoding: "windows-1252"}, bytes: append([]byte{0xFE, 0xFF}, utf16be...)},
		{name: "utf-16le without BOM", in: source.Input{Encoding: "utf-16le"}, bytes: utf16le},
		{name: "utf-16be without BOM", in: source.Input{Encoding: "utf-16be"}, bytes: utf16be},
		{name: "shift_jis", in: source.Input{Encoding: "shift_jis"},
			bytes: encodeAs(t, japanese.ShiftJIS, "source_key,location_ref\n東京-1,倉庫\n"),
			want:  []keysync.Row{{Record: 1, Key: testNormalize("東京-1"), RawKey: "東京-1", LocationRef: "倉庫"}}},
		{name: "gzip", bytes: gz(t, []byte(plainCSV))},
		{name: "gzip of windows-1252", in: source.Input{Encoding: "windows-1252"}, bytes: gz(t, win)},
		{name: "gzip of utf-16 with BOM", bytes: gz(t, append([]byte{0xFF, 0xFE}, utf16le...))},
		{name: "zstd", bytes: zst(t, []byte(plainCSV))},
		{name: "bzip2", bytes: bz2},
		{name: "zip of one file", bytes: zipOf(t, "export/B.csv", plainCSV)},
		{name: "zip member", in: source.Input{Member: "B.csv"}, bytes: zipOf(t, "A.csv", "x\n", "B.csv", plainCSV, "C.csv", "y\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeBytes(t, "B.csv", tt.bytes)
			var rec recorder
			st, err := source.CSV{System: "B", Path: path, Input: tt.in}.Extract(context.Background(), testRules, &rec)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			want := tt.want
			if want == nil {
				want = wantPlain()
			}
			if !reflect.DeepEqual(rec.rows, want) || len(rec.rejs) > 0 {
				t.Errorf("rows = %+v, rejected %+v; want %+v", rec.rows, rec.rejs, want)
			}
			// The fingerprint is of the file as stored, not of the text.
			if got, want := st.Fingerprint, (source.Fingerprint{Path: path, Bytes: int64(len(tt.bytes)), SHA256: sha(tt.bytes)}); got != want {
				t.Errorf("Fingerprint = %+v, want %+v", got, want)
			}
		})
	}
}

// TestInputLinesAreTheFiles checks that decoding keeps the file's record
// and line numbers in rejections and errors.
func TestInputLinesAreTheFiles(t *testing.T) {
	text := "source_key,last_seen_at\r\n\r\nk1,2024-01-01\r\nk2,2024-02-30\r\nk3,\"open\r\n"
	utf16le := encodeAs(t, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), text)
	path := writeBytes(t, "B.csv", gz(t, utf16le))
	var rec recorder
	_, err := source.CSV{System: "B", Path: path}.Extract(context.Background(), testRules, &rec)
	var se *source.Error
	if !errors.As(err, &se) || se.Line != 5 || se.Path != path {
		t.Fatalf("err = %v, want a *source.Error at %s line 5", err, path)
	}
	if len(rec.rejs) != 1 || rec.rejs[0].Record != 2 || rec.rejs[0].Line != 4 || rec.rejs[0].Reason != keysync.RejectBadTimestamp {
		t.Errorf("rejections = %+v, want record 2 on line 4 as bad_timestamp", rec.rejs)
	}
}

func TestInputFailures(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
	utf16le := encodeAs(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), plainCSV)
	broken := gz(t, []byte(plainCSV))
	broken = broken[:len(broken)-6]
	tests := []struct {
		name  string
		in    source.Input
		bytes []byte
		want  string
	}{
		{name: "binary", bytes: png, want: "not a text file (starts with 0x89504e470d0a1a0a)"},
		{name: "binary inside gzip", bytes: gz(t, png), want: "not a text file (starts with 0x89504e470d0a1a0a)"},
		{name: "utf-16 without BOM read as utf-8", bytes: utf16le, want: "it looks like UTF-16 without a byte-order mark: set encoding: utf-16le"},
		{name: "zip of several", bytes: zipOf(t, "A.csv", "x\n", "B.csv", plainCSV),
			want: `zip: the archive holds 2 files ("A.csv", "B.csv"); name the one to read with member:`},
		{name: "zip without the member", in: source.Input{Member: "C.csv"}, bytes: zipOf(t, "A.csv", "x\n", "B.csv", plainCSV),
			want: `zip: no member "C.csv"; it holds "A.csv", "B.csv"`},
		{name: "empty zip", bytes: zipOf(t), want: "zip: the archive holds no file"},
		{name: "xlsx", bytes: zipOf(t, "[Content_Types].xml", "<x/>", "xl/workbook.xml", "<x/>"),
			want: "an Excel workbook (.xlsx), not a text export: save it as CSV"},
		{name: "member of a plain file", in: source.Input{Member: "B.csv"}, bytes: []byte(plainCSV),
			want: `member "B.csv": the file is not a zip archive`},
		{name: "truncated gzip", bytes: broken, want: "unexpected EOF"},
		{name: "unknown encoding", in: source.Input{Encoding: "klingon"}, bytes: []byte(plainCSV), want: `unknown encoding "klingon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeBytes(t, "B.csv", tt.bytes)
			st, err := source.CSV{System: "B", Path: path, Input: tt.in}.Extract(context.Background(), testRules, &recorder{})
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want a *source.Error", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if !utf8.ValidString(err.Error()) || strings.ContainsRune(err.Error(), 0) {
				t.Errorf("err = %q holds raw bytes of the file", err)
			}
			if st.RowsRead != 0 || st.Files != nil {
				t.Errorf("Stats = %+v, want zero", st)
			}
		})
	}
}

// writeFiles writes name/content pairs into one fresh directory.
func writeFiles(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(files); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, files[i]), []byte(files[i+1]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInputGlob(t *testing.T) {
	dir := writeFiles(t,
		"B_20261201.csv", "source_key\nk1\nk2\n",
		"B_20261203.csv", "source_key\n\nk5\n",
		"B_20261202.csv", "location_ref,source_key\nL,k3\nL,\n", // its own header; record 4 is empty_key
		"A_20261209.csv", "source_key\nnot-b\n",
	)
	pattern := filepath.Join(dir, "B_*.csv")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "B_20261203.csv"), old, old); err != nil {
		t.Fatal(err)
	}
	keysOf := func(rec *recorder) string {
		var ks []string
		for _, r := range rec.rows {
			ks = append(ks, fmt.Sprintf("%d:%s", r.Record, r.RawKey))
		}
		for _, r := range rec.rejs {
			ks = append(ks, fmt.Sprintf("%d:%s!%s@%d", r.Record, r.RawKey, r.Reason, r.Line))
		}
		return strings.Join(ks, " ")
	}
	tests := []struct {
		pick string
		want string
	}{
		{"", "1:k5"},
		{source.PickLast, "1:k5"},
		{source.PickNewest, "1:k3 2:!empty_key@3"},
		{source.PickAll, "1:k1 2:k2 3:k3 5:k5 4:!empty_key@3"},
	}
	for _, tt := range tests {
		t.Run("pick "+tt.pick, func(t *testing.T) {
			var rec recorder
			st, err := source.CSV{System: "B", Path: pattern, Input: source.Input{Pick: tt.pick}}.Extract(context.Background(), testRules, &rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(&rec); got != tt.want {
				t.Errorf("records = %q, want %q", got, tt.want)
			}
			if got, want := st.RowsRead, int64(len(rec.rows)+len(rec.rejs)); got != want {
				t.Errorf("RowsRead = %d, want %d", got, want)
			}
		})
	}

	t.Run("pick all fingerprint", func(t *testing.T) {
		st, err := source.CSV{System: "B", Path: pattern, Input: source.Input{Pick: source.PickAll}}.Extract(context.Background(), testRules, &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		var listing strings.Builder
		var files []source.InputFile
		var total int64
		first := int64(1)
		for i, name := range []string{"B_20261201.csv", "B_20261202.csv", "B_20261203.csv"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&listing, "%s  %s\n", sha(b), name)
			total += int64(len(b))
			records := []int64{2, 2, 1}[i]
			files = append(files, source.InputFile{
				Fingerprint: source.Fingerprint{Path: filepath.Join(dir, name), Bytes: int64(len(b)), SHA256: sha(b)},
				FirstRecord: first, Records: records,
			})
			first += records
		}
		// What `sha256sum B_*.csv | sha256sum` prints in that directory.
		want := source.Fingerprint{Path: pattern, Bytes: total, SHA256: sha([]byte(listing.String()))}
		if st.Fingerprint != want {
			t.Errorf("Fingerprint = %+v, want %+v", st.Fingerprint, want)
		}
		if !reflect.DeepEqual(st.Files, files) {
			t.Errorf("Files = %+v, want %+v", st.Files, files)
		}
	})

	t.Run("an error names its file", func(t *testing.T) {
		bad := writeFiles(t, "B_1.csv", "source_key\nk1\n", "B_2.csv", "source_key\nk2\n\"open\n")
		_, err := source.CSV{System: "B", Path: filepath.Join(bad, "B_*.csv"), Input: source.Input{Pick: source.PickAll}}.Extract(context.Background(), testRules, &recorder{})
		var se *source.Error
		if !errors.As(err, &se) || se.Path != filepath.Join(bad, "B_2.csv") || se.Line != 3 {
			t.Errorf("err = %v, want it at B_2.csv line 3", err)
		}
	})

	t.Run("no match names the pattern", func(t *testing.T) {
		p := filepath.Join(dir, "C_*.csv")
		_, err := source.CSV{System: "C", Path: p}.Extract(context.Background(), testRules, &recorder{})
		var se *source.Error
		if !errors.As(err, &se) || se.Path != p || !strings.Contains(err.Error(), p+": no file matches the pattern") {
			t.Errorf("err = %v, want no file matches %q", err, p)
		}
	})
}

func TestCSVNoHeader(t *testing.T) {
	tests := []struct {
		name    string
		csv     source.CSV
		content string
		rows    []keysync.Row
		rejs    []keysync.Rejection
		err     string
	}{
		{
			name:    "positions",
			csv:     source.CSV{NoHeader: true, Columns: map[string]string{"source_key": "2", "location_ref": " 1 "}},
			content: "Köln,k1,x\nBonn,k2,y\nBonn,k3\n",
			rows: []keysync.Row{
				{Record: 1, Key: testNormalize("k1"), RawKey: "k1", LocationRef: "Köln"},
				{Record: 2, Key: testNormalize("k2"), RawKey: "k2", LocationRef: "Bonn"},
			},
			rejs: []keysync.Rejection{{Record: 3, Line: 3, RawKey: "k3", Reason: keysync.RejectFieldCount}},
		},
		{
			name:    "composite key by position",
			csv:     source.CSV{NoHeader: true, Key: []string{"1", "3"}},
			content: "eu,x,42\n",
			rows:    []keysync.Row{{Record: 1, Key: testNormalize("eu-42"), RawKey: "eu-42"}},
		},
		{
			name:    "first record too short",
			csv:     source.CSV{NoHeader: true, Columns: map[string]string{"source_key": "2", "last_seen_at": "5"}},
			content: "a,k1,c\n",
			err:     "line 1: the first record has 3 fields, but columns: names position 5",
		},
		{
			name:    "a name, not a position",
			csv:     source.CSV{NoHeader: true, Columns: map[string]string{"source_key": "id"}},
			content: "k1\n",
			err:     `columns: source_key is "id", not a column position`,
		},
		{
			name:    "no source_key",
			csv:     source.CSV{NoHeader: true, Columns: map[string]string{"location_ref": "1"}},
			content: "k1\n",
			err:     "a file without a header needs the position of source_key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.csv
			c.System, c.Path = "B", writeFile(t, tt.content)
			var rec recorder
			st, err := c.Extract(context.Background(), testRules, &rec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rec.rows, tt.rows) || !reflect.DeepEqual(rec.rejs, tt.rejs) {
				t.Errorf("rows %+v rejs %+v, want %+v %+v", rec.rows, rec.rejs, tt.rows, tt.rejs)
			}
			if got, want := st.RowsRead, int64(len(tt.rows)+len(tt.rejs)); got != want {
				t.Errorf("RowsRead = %d, want %d", got, want)
			}
		})
	}
}

func TestJSONInput(t *testing.T) {
	win := encodeAs(t, charmap.Windows1252, `[{"source_key":"ÄBC-1","location_ref":"Lager Köln"}]`)
	dir := writeFiles(t, "B_1.json.gz", string(gz(t, win)), "B_2.json", `{"source_key":"k2","location_ref":"Hamburg"}`+"\n")
	var rec recorder
	st, err := source.JSON{System: "B", Path: filepath.Join(dir, "B_*"), Input: source.Input{Encoding: "windows-1252", Pick: source.PickAll}}.
		Extract(context.Background(), testRules, &rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.rows, wantPlain()) {
		t.Errorf("rows = %+v, want %+v", rec.rows, wantPlain())
	}
	if got := len(st.Files); got != 2 || st.Files[1].FirstRecord != 2 || st.RowsRead != 2 {
		t.Errorf("Stats = %+v, want 2 files, the second from record 2", st)
	}
}

// FuzzDecodeInput feeds open-ended bytes through every decoder: whatever
// the file holds, the source either fails with a *source.Error that quotes
// no raw bytes, or reads rows of valid UTF-8 whose counts add up.
func FuzzDecodeInput(f *testing.F) {
	bz2, err := os.ReadFile("testdata/keys.csv.bz2")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		[]byte(plainCSV),
		append([]byte{0xFF, 0xFE}, "s\x00o\x00u\x00r\x00c\x00e\x00_\x00k\x00e\x00y\x00\n\x00k\x00"...),
		append([]byte{0xFE, 0xFF}, "\x00s\x00\n\x00k"...),
		[]byte("source_key\nK\xf6ln\n"),
		{0x1f, 0x8b, 0x08, 0x00},
		{0x28, 0xb5, 0x2f, 0xfd, 0x00},
		[]byte("BZh91AY&SY"),
		[]byte("PK\x03\x04"),
		bz2,
		[]byte("\x89PNG\r\n\x1a\n\x00"),
	} {
		for _, enc := range []string{"", "windows-1252", "utf-16le", "shift_jis"} {
			f.Add(seed, enc)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, enc string) {
		if _, err := source.LookupEncoding(enc); err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "F.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// The same bytes as a JSON source go through the same decoders.
		if _, err := (source.JSON{System: "B", Path: path, Input: source.Input{Encoding: enc}}).Extract(context.Background(), testRules, &recorder{}); err != nil {
			var se *source.Error
			if !errors.As(err, &se) || !utf8.ValidString(err.Error()) {
				t.Fatalf("json: error %T %q, want a *source.Error of valid UTF-8", err, err)
			}
		}
		rec := &recorder{}
		st, err := source.CSV{System: "B", Path: path, Input: source.Input{Encoding: enc}}.Extract(context.Background(), testRules, rec)
		if err != nil {
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T (%v), want *source.Error", err, err)
			}
			if !utf8.ValidString(err.Error()) || strings.ContainsRune(err.Error(), 0) {
				t.Fatalf("error %q holds raw bytes", err)
			}
			return
		}
		if got, want := int64(len(rec.rows)+len(rec.rejs)), st.RowsRead; got != want {
			t.Fatalf("accepted+rejected = %d, RowsRead = %d", got, want)
		}
		if got, want := st.Bytes, int64(len(data)); got != want {
			t.Fatalf("Bytes = %d, want %d (the file as stored)", got, want)
		}
		for _, r := range rec.rows {
			if !utf8.ValidString(r.Key) || !utf8.ValidString(r.LocationRef) {
				t.Fatalf("accepted row %+v has invalid UTF-8", r)
			}
		}
	})
}

// byteRecorder is a Sink that keeps the last byte count it was told.
type byteRecorder struct {
	recorder
	last int64
}

func (b *byteRecorder) BytesRead(total int64) { b.last = total }

// TestInputProgressRunsOn: the bytes a glob source reports count on from
// file to file, up to the stored bytes of all of them, for csv and json.
func TestInputProgressRunsOn(t *testing.T) {
	dir := writeFiles(t, "B_1.csv", "source_key\nk1\n", "B_2.csv", "source_key\nk2\nk3\n",
		"C_1.json", `[{"source_key":"k1"}]`, "C_2.json", `{"source_key":"k2"}`+"\n")
	for _, ex := range []source.Extractor{
		source.CSV{System: "B", Path: filepath.Join(dir, "B_*.csv"), Input: source.Input{Pick: source.PickAll}},
		source.JSON{System: "C", Path: filepath.Join(dir, "C_*.json"), Input: source.Input{Pick: source.PickAll}},
	} {
		var b byteRecorder
		st, err := ex.Extract(context.Background(), testRules, &b)
		if err != nil {
			t.Fatal(err)
		}
		if b.last != st.Bytes || st.Bytes == st.Files[0].Bytes {
			t.Errorf("%T: last progress %d, want the sum of the files' bytes %d", ex, b.last, st.Bytes)
		}
	}
}
