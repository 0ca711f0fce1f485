package sqlite

// SetRowsPerCommit makes the staging load commit every n rows, for tests of
// the sliced load; the returned func restores the default.
func SetRowsPerCommit(n int) (restore func()) {
	old := rowsPerCommit
	rowsPerCommit = n
	return func() { rowsPerCommit = old }
}
