package sqlite_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/keysync/keysync/pkg/sqlite"
)

// TestStagingInSlices: a load committed in many small slices gives exactly
// the results of a load in one transaction.
func TestStagingInSlices(t *testing.T) {
	keys := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i%(n-3)) // the last three repeat: duplicates
		}
		return out
	}
	r := run{systems: []system{
		authority("A", keys("K", 40)...),
		peer("B", append(keys("K", 30), "X1", "X2")...),
		peer("C", append(keys("K", 35), "X2", "X3")...),
	}}
	resultsWith := func(rowsPerCommit int) results {
		t.Helper()
		if rowsPerCommit > 0 {
			defer sqlite.SetRowsPerCommit(rowsPerCommit)()
		}
		db := MustOpenDB(t)
		runID, _ := mustRun(t, db, r)
		return readResults(t, db.Reader(), runID)
	}
	want := resultsWith(0)
	for _, n := range []int{1, 7, 64} {
		t.Run(fmt.Sprintf("%d rows a commit", n), func(t *testing.T) {
			if got := resultsWith(n); !reflect.DeepEqual(got, want) {
				t.Errorf("results differ from a single-transaction load:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	if len(want.MissingInA) == 0 || len(want.MissingFromSystem) == 0 || len(want.Exceptions) == 0 {
		t.Fatalf("the fixture should have findings of every kind: %+v", want)
	}
}
