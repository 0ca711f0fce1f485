package sqlite

// DetailField exposes detailField to the tests of the packed detail.
var DetailField = detailField

// AppendDetail exposes appendDetail.
var AppendDetail = appendDetail

// SetTuneRowsPerPass makes Tune count an option set in passes of at most n
// rows, until the returned function restores the default.
func SetTuneRowsPerPass(n int) (restore func()) {
	old := tuneRowsPerPass
	tuneRowsPerPass = n
	return func() { tuneRowsPerPass = old }
}

// lateCollidingHasher is seededHasher with every key whose key_id is in
// the top half folded onto one of two key_ids at the very top: counted in
// passes, only the last pass finds collisions.
type lateCollidingHasher struct{ seededHasher }

func (h lateCollidingHasher) ids(key string) (int64, int64) {
	id, check := h.seededHasher.ids(key)
	if id > 1<<62 {
		id = 1<<63 - 1 - int64(len(key)%2)
	}
	return id, check
}

// ForceLateKeyHashCollisions is ForceKeyHashCollisions with collisions in
// the top half of the key_ids only.
func ForceLateKeyHashCollisions() (restore func()) {
	old := newHasher
	newHasher = func() keyHasher { return lateCollidingHasher{newSeededHasher()} }
	return func() { newHasher = old }
}
