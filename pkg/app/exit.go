package app

import (
	"errors"
	"fmt"

	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/reconcile"
	"github.com/keysync/keysync/pkg/sqlite"
)

// Exit codes of SPEC §10.
const (
	ExitOK       = 0
	ExitFailed   = 1
	ExitUsage    = 2
	ExitLocked   = 3
	ExitBlocked  = 4
	ExitFindings = 5
)

// errFindings ends a run that found something when --fail-on-findings is given.
var errFindings = errors.New("the run has findings (--fail-on-findings)")

// usageError is a command line the user must correct.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// ExitCode maps the error a command returned to keysync's exit code.
func ExitCode(err error) int {
	var (
		cfgErr   *config.Error
		usage    *usageError
		transErr *sqlite.TransitionError
		blocked  *reconcile.BlockedError
		newer    *sqlite.NewerSchemaError
		notOurs  *sqlite.NotKeysyncError
		noDB     *sqlite.NoDatabaseError
		noDir    *sqlite.NoDirError
		exists   *sqlite.BackupExistsError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &cfgErr), errors.As(err, &usage), errors.As(err, &transErr):
		return ExitUsage
	case errors.As(err, &newer), errors.As(err, &notOurs), errors.As(err, &noDB), errors.As(err, &noDir),
		errors.As(err, &exists):
		return ExitUsage // the database named is not one this keysync may use
	case errors.Is(err, sqlite.ErrLocked), errors.Is(err, sqlite.ErrBusy):
		return ExitLocked
	case errors.As(err, &blocked):
		return ExitBlocked
	case errors.Is(err, errFindings):
		return ExitFindings
	}
	return ExitFailed
}
