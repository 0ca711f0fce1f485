package sqlite

import (
	"database/sql"
	"strings"
)

// usedArgs keeps the named arguments that query mentions as :name. The
// queries under sql/queries each use a different subset of a run's
// parameters, and the driver refuses arguments a statement does not name.
func usedArgs(query string, args []any) []any {
	var used []any
	for _, a := range args {
		if n, ok := a.(sql.NamedArg); ok && !mentions(query, n.Name) {
			continue
		}
		used = append(used, a)
	}
	return used
}

// mentions reports whether query has the parameter :name as a whole word, so
// :authority is not found inside :authority_id.
func mentions(query, name string) bool {
	token := ":" + name
	for i := 0; ; {
		j := strings.Index(query[i:], token)
		if j < 0 {
			return false
		}
		end := i + j + len(token)
		if end == len(query) || !isIdentByte(query[end]) {
			return true
		}
		i = end
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
