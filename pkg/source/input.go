package source

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// The choices of a glob's matches (the `pick:` of a file source).
const (
	PickLast   = "last"   // the lexicographically last name: date-stamped names sort by date
	PickNewest = "newest" // the latest modification time
	PickAll    = "all"    // every match in name order, read as one source
)

// DefaultEncoding is the encoding of a file source that names none.
const DefaultEncoding = "utf-8"

// Input says how a file source (csv, json) finds its files and turns their
// bytes into text, whatever the format that text is in. Its zero value reads
// one plain UTF-8 file.
//
// Whatever Encoding says, a UTF-16 or UTF-8 byte-order mark at the start of
// the text decides, so an Excel "Unicode text" export just works. Compressed
// files are recognised by their magic bytes, not their name: gzip, zstd,
// bzip2, and a zip archive holding one file (or several, with Member naming
// the one to read). Everything streams; nothing is unpacked to disk, and the
// fingerprint is always of the file as stored.
type Input struct {
	Encoding string // a WHATWG label (golang.org/x/text/encoding/htmlindex); "" is DefaultEncoding
	Member   string // the file to read inside a zip archive holding several
	Pick     string // which matches of a glob Path to read: PickLast ("" too), PickNewest or PickAll
}

// LookupEncoding returns the encoding a WHATWG label names ("" is UTF-8).
// UTF-8 itself is returned as nil: its bytes are read as they are, so that
// the row rules still see (and reject) invalid UTF-8 in a key.
func LookupEncoding(label string) (encoding.Encoding, error) {
	l := strings.ToLower(strings.TrimSpace(label))
	if l == "" {
		return nil, nil
	}
	e, err := htmlindex.Get(l)
	if err != nil {
		return nil, fmt.Errorf("unknown encoding %q (want a WHATWG label such as utf-8, windows-1252, iso-8859-15, utf-16le or shift_jis)", label)
	}
	if name, _ := htmlindex.Name(e); name == "utf-8" {
		return nil, nil
	}
	return e, nil
}

// IsGlob reports whether path holds glob metacharacters (see filepath.Match).
func IsGlob(path string) bool {
	return strings.ContainsAny(path, "*?[")
}

// files returns the files to read for path: path itself when it is no glob,
// else its matches (regular files only) chosen by Pick, in reading order.
func (in Input) files(path string) ([]string, error) {
	if !IsGlob(path) {
		return []string{path}, nil
	}
	matches, err := filepath.Glob(path)
	if err != nil {
		return nil, fmt.Errorf("bad pattern %q: %w", path, err)
	}
	type match struct {
		name string
		fi   fs.FileInfo
	}
	var found []match
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue // a directory, a broken link, a file gone since the glob
		}
		found = append(found, match{m, fi})
	}
	if len(found) == 0 {
		return nil, errors.New("no file matches the pattern")
	}
	slices.SortFunc(found, func(a, b match) int { return strings.Compare(a.name, b.name) })
	switch in.Pick {
	case PickAll:
		names := make([]string, len(found))
		for i, m := range found {
			names[i] = m.name
		}
		return names, nil
	case PickNewest:
		newest := found[0]
		for _, m := range found[1:] {
			if !m.fi.ModTime().Before(newest.fi.ModTime()) { // a tie goes to the later name
				newest = m
			}
		}
		return []string{newest.name}, nil
	case PickLast, "":
		return []string{found[len(found)-1].name}, nil
	}
	return nil, fmt.Errorf("unknown pick %q (want %s, %s or %s)", in.Pick, PickLast, PickNewest, PickAll)
}

// globBase is the directory part of pattern before its first glob
// metacharacter: the names in a multi-file fingerprint are relative to it.
func globBase(pattern string) string {
	dir := filepath.Dir(pattern)
	for IsGlob(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

// InputFile is one file a source read: its fingerprint as stored, and which
// records came from it. Records number on across the files of a source read
// with pick: all, so a rejected row's record tells its file.
type InputFile struct {
	Fingerprint
	FirstRecord int64 // the record number of its first data record
	Records     int64 // its data records
}

// combine makes the fingerprint of a source from the files it read. One
// file is its own fingerprint. Several (pick: all) are named by pattern;
// Bytes is their sum, and SHA256 the SHA-256 of the `sha256sum` listing of
// the files ("<hex>  <name>\n" each, in reading order, names relative to the
// pattern's fixed directory), so that `cd exports && sha256sum B_*.csv |
// sha256sum` gives the same digest.
func combine(pattern string, files []InputFile) Fingerprint {
	if len(files) == 1 {
		return files[0].Fingerprint
	}
	base := globBase(pattern)
	h := sha256.New()
	fp := Fingerprint{Path: pattern}
	for _, f := range files {
		name, err := filepath.Rel(base, f.Path)
		if err != nil {
			name = f.Path
		}
		fmt.Fprintf(h, "%s  %s\n", f.SHA256, filepath.ToSlash(name))
		fp.Bytes += f.Bytes
	}
	fp.SHA256 = hex.EncodeToString(h.Sum(nil))
	return fp
}

// Magic bytes of the compressed formats, and of the zip archive.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicBzip2 = []byte("BZh")
	magicZip   = []byte("PK\x03\x04")
	magicZip0  = []byte("PK\x05\x06") // an empty archive
)

// sniffLen is how much of the decoded text is looked at to tell a text file
// from a binary one.
const sniffLen = 8 << 10

// textFile is one open input file. Its bytes as stored go through the
// fingerprint's hash, then the decompressor their magic bytes call for,
// then the decoder of the encoding, into Text.
type textFile struct {
	Text *bufio.Reader // UTF-8 text (a UTF-8 BOM left in place for the format to skip)

	path    string
	f       *os.File
	hr      *hashingReader
	raw     *bufio.Reader // the stored bytes, for draining; nil for a zip (hashed up front)
	closers []io.Closer   // decompressors
}

// openText opens path for reading as text. progress, when set, is told the
// count of stored bytes read so far.
func (in Input) openText(path string, progress func(int64)) (_ *textFile, err error) {
	enc, err := LookupEncoding(in.Encoding)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, withoutPath(err)
	}
	t := &textFile{path: path, f: f, hr: &hashingReader{r: f, h: sha256.New(), progress: progress}}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	t.raw = bufio.NewReaderSize(t.hr, 64<<10)
	head, err := t.raw.Peek(10)
	if err != nil && err != io.EOF {
		return nil, withoutPath(err)
	}
	var plain io.Reader = t.raw
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(t.raw)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		t.closers = append(t.closers, zr)
		plain = zr
	case bytes.HasPrefix(head, magicZstd):
		// At most the 128 MiB window the zstd CLI decodes without
		// --memory: a header asking for more cannot make us allocate it.
		zr, err := zstd.NewReader(t.raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		t.closers = append(t.closers, closerFunc(func() error { zr.Close(); return nil }))
		plain = zr
	case isBzip2(head):
		plain = bzip2.NewReader(t.raw)
	case bytes.HasPrefix(head, magicZip), bytes.HasPrefix(head, magicZip0):
		if plain, err = t.openZip(in.Member); err != nil {
			return nil, err
		}
	}
	if in.Member != "" && t.raw != nil {
		return nil, fmt.Errorf("member %q: the file is not a zip archive", in.Member)
	}
	pb, ok := plain.(*bufio.Reader) // a plain file: read through its one buffer
	if !ok {
		pb = bufio.NewReaderSize(plain, 64<<10)
	}
	t.Text, err = decodeText(pb, enc)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// decodeText returns the UTF-8 text of pb, read as enc (nil: UTF-8, as is)
// unless a byte-order mark says otherwise, after checking it is text at all.
func decodeText(pb *bufio.Reader, enc encoding.Encoding) (*bufio.Reader, error) {
	head, err := pb.Peek(16)
	if err != nil && err != io.EOF {
		return nil, decodeError(err)
	}
	head = bytes.Clone(head) // for the message, before a decoder consumes it
	var text io.Reader = pb
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		// UTF-8 whatever enc says; the format skips the BOM (keeping byte
		// offsets those of the file).
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		text = transform.NewReader(pb, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		text = transform.NewReader(pb, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
	case enc != nil:
		text = transform.NewReader(pb, enc.NewDecoder())
	}
	tb, ok := text.(*bufio.Reader) // not decoded: no second buffer
	if !ok {
		tb = bufio.NewReaderSize(text, 64<<10)
	}
	sniff, err := tb.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, decodeError(err)
	}
	if isBinary(sniff) {
		msg := fmt.Sprintf("not a text file (starts with 0x%s)", hex.EncodeToString(head[:min(len(head), 8)]))
		if looksUTF16(head) && enc == nil {
			msg += "; it looks like UTF-16 without a byte-order mark: set encoding: utf-16le (or utf-16be)"
		}
		return nil, errors.New(msg)
	}
	return tb, nil
}

// decodeError words an error of the decompressor or decoder that surfaced
// while sniffing the text.
func decodeError(err error) error {
	return fmt.Errorf("read: %w", withoutPath(err))
}

// isBinary reports whether text (the start of a decoded file) is not text: it
// holds a NUL, or more control characters than a text export ever would.
func isBinary(text []byte) bool {
	controls := 0
	for _, c := range text {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' && c != 0x1a && c != 0x1b, c == 0x7f:
			controls++
		}
	}
	return controls > 0 && controls*32 > len(text)
}

// looksUTF16 reports whether head reads like UTF-16 text of mostly ASCII
// characters: a NUL at every other byte.
func looksUTF16(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	odd, even := 0, 0
	for i, c := range head {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	half := len(head) / 2
	return odd == half && even == 0 || even == half && odd == 0
}

// isBzip2 checks the bzip2 stream header: "BZh", a block size digit, and
// the magic of the first block or of the end of an empty stream.
func isBzip2(head []byte) bool {
	if len(head) < 10 || !bytes.HasPrefix(head, magicBzip2) || head[3] < '1' || head[3] > '9' {
		return false
	}
	return bytes.Equal(head[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) ||
		bytes.Equal(head[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})
}

// openZip hashes the whole archive (a zip's directory sits at its end, so it
// is read in place rather than streamed) and opens its one member, or the
// one named by member.
func (t *textFile) openZip(member string) (io.Reader, error) {
	if _, err := io.Copy(io.Discard, t.raw); err != nil {
		return nil, withoutPath(err)
	}
	t.raw = nil
	zr, err := zip.NewReader(t.f, t.hr.n)
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	var files []*zip.File
	for _, zf := range zr.File {
		if !zf.FileInfo().IsDir() {
			files = append(files, zf)
		}
	}
	names := func() string {
		q := make([]string, len(files))
		for i, zf := range files {
			q[i] = fmt.Sprintf("%q", ValidUTF8(zf.Name))
		}
		return strings.Join(q, ", ")
	}
	var pick *zip.File
	switch {
	case member != "":
		for _, zf := range files {
			if zf.Name == member {
				pick = zf
			}
		}
		if pick == nil {
			return nil, fmt.Errorf("zip: no member %q; it holds %s", member, names())
		}
	case len(files) == 1:
		pick = files[0]
	case len(files) == 0:
		return nil, errors.New("zip: the archive holds no file")
	default:
		for _, zf := range files {
			if zf.Name == "xl/workbook.xml" {
				return nil, errors.New("an Excel workbook (.xlsx), not a text export: save it as CSV")
			}
		}
		return nil, fmt.Errorf("zip: the archive holds %d files (%s); name the one to read with member:", len(files), names())
	}
	rc, err := pick.Open()
	if err != nil {
		return nil, fmt.Errorf("zip member %q: %w", ValidUTF8(pick.Name), err)
	}
	t.closers = append(t.closers, rc)
	return rc, nil
}

// finish reads what is left of the file, so that a compressed stream's
// checksum is verified and the fingerprint covers every byte stored, and
// returns that fingerprint.
func (t *textFile) finish() (Fingerprint, error) {
	if _, err := io.Copy(io.Discard, t.Text); err != nil {
		return Fingerprint{}, decodeError(err)
	}
	if t.raw != nil {
		if _, err := io.Copy(io.Discard, t.raw); err != nil {
			return Fingerprint{}, withoutPath(err)
		}
	}
	return Fingerprint{Path: t.path, Bytes: t.hr.n, SHA256: hex.EncodeToString(t.hr.h.Sum(nil))}, nil
}

// Close closes the decompressors and the file.
func (t *textFile) Close() {
	for _, c := range slices.Backward(t.closers) {
		_ = c.Close()
	}
	_ = t.f.Close()
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
