// Package gen writes realistic, deterministic test inputs for keysync: an
// authority export A.csv, one export per peer, and the keysync-config.yaml
// that reconciles them (`keysync gen`).
//
// Everything is derived, never stored, so ten million rows take no memory:
// the i-th key of A is a function of i (key families INV-, SKU-, CUST-, AST-
// interleaved by i, with sequence numbers scrambled by a bijection), and
// whether a peer has A's key i, spells it twice, or has an extra key at
// position i is a hash of (seed, peer, i). A Plan answers those questions,
// for the writer and for tests alike. Spellings, locations and timestamps come
// from a PCG stream (math/rand/v2) per file, seeded from the seed and the
// system name, so the same Options give byte-identical files.
//
// Peers spell keys the way real exports do — mixed case, `_ . / : |` and
// spaces for delimiters, doubled delimiters, leading zeros added or dropped,
// surrounding blanks, stray `#` — always in ways that SPEC §4 normalization
// (defaults with pad_numbers: 8) maps back to exactly A's normalized key.
package gen
