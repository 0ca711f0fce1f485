package sqlite

import "hash/maphash"

// A staged row carries its normalized key twice more as integers: key_id, a
// 63-bit hash that the comparison groups and joins on (integers sort and
// compare far faster than text), and key_check, a second, independent 64-bit
// hash. Both are seeded afresh by every run, so keys crafted to collide
// cannot be planted in an export. Grouping on a hash must never merge two
// different keys: a key_id whose rows disagree on key_check is a collision,
// and its rows get exact ids (see resolve_collisions.sql) before anything is
// counted.

// keyHasher computes a staged key's key_id and key_check.
type keyHasher interface {
	ids(key string) (id, check int64)
}

// seededHasher is the hasher of a normal run: two random maphash seeds.
type seededHasher struct{ id, check maphash.Seed }

func newSeededHasher() seededHasher {
	return seededHasher{id: maphash.MakeSeed(), check: maphash.MakeSeed()}
}

func (h seededHasher) ids(key string) (int64, int64) {
	// key_id is never negative: negative ids are the exact ids of keys whose
	// hash collided.
	return int64(maphash.String(h.id, key) >> 1), int64(maphash.String(h.check, key))
}

// newHasher makes the hasher of one staging; tests replace it to force
// collisions.
var newHasher = func() keyHasher { return newSeededHasher() }

// collidingHasher is seededHasher with a degenerate key_id: every key shares
// one of a few ids, so nearly every key_id collides and the exact path
// decides everything; key_check stays a real hash, as collisions are found by it.
type collidingHasher struct{ seededHasher }

func (h collidingHasher) ids(key string) (int64, int64) {
	_, check := h.seededHasher.ids(key)
	return int64(len(key) % 3), check
}

// ForceKeyHashCollisions makes every staging from now on hash keys to a few
// colliding key_ids, until the returned function restores the real hash. For
// tests only: they show that collisions never merge two keys.
func ForceKeyHashCollisions() (restore func()) {
	old := newHasher
	newHasher = func() keyHasher { return collidingHasher{newSeededHasher()} }
	return func() { newHasher = old }
}
