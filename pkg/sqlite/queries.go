package sqlite

import (
	"fmt"
	"io/fs"
	"strings"

	sqlfiles "github.com/keysync/keysync/sql"
)

// queries maps a file name under sql/queries (without .sql) to its text.
var queries = loadQueries()

func loadQueries() map[string]string {
	m := map[string]string{}
	entries, err := fs.ReadDir(sqlfiles.Queries, "queries")
	if err != nil {
		panic(fmt.Sprintf("read embedded queries: %v", err))
	}
	for _, e := range entries {
		b, err := fs.ReadFile(sqlfiles.Queries, "queries/"+e.Name())
		if err != nil {
			panic(fmt.Sprintf("read embedded query %s: %v", e.Name(), err))
		}
		m[strings.TrimSuffix(e.Name(), ".sql")] = string(b)
	}
	return m
}

// query returns the named query; a missing name is a programming error.
func query(name string) string {
	q, ok := queries[name]
	if !ok {
		panic("sqlite: no query named " + name)
	}
	return q
}
