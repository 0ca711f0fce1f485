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
