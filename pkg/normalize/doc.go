// Package normalize owns the key normalization of SPEC §4: turning a raw
// source_key into the normalized key that every comparison, duplicate check
// and master key is built on.
//
// The steps run in the spec's order: trim Unicode white space, upper-case,
// strip characters that are neither ASCII letters, ASCII digits nor
// delimiters, collapse delimiter runs into the collapse string, and pad
// all-digit segments with zeros. An empty result means the row is rejected
// as empty_key; deciding that, and reporting it, belongs to the caller.
//
// A Normalizer is built once per option set by New and is then safe for
// concurrent use. Its Append method is the hot path for millions of rows: it
// allocates nothing when the destination has room, and ASCII input never
// leaves a table lookup.
//
// Normalization is idempotent for every option set: normalizing a normalized
// key returns it unchanged. Where the spec's wording alone would not give that
// (a collapse string with characters outside the delimiters, or invalid
// UTF-8 in the options), New adjusts the option set as documented on New.
package normalize
