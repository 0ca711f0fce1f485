package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binPath is the keysync binary built once for every subprocess test.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keysync-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "keysync")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build keysync:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// runKeysync runs the built binary in dir with args and returns its exit code
// and output. It fails the test only when the process cannot be started.
func runKeysync(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runKeysyncEnv(t, dir, nil, args...)
}

// runKeysyncEnv is runKeysync with env (NAME=value) added to the
// environment, for tests that run in parallel and cannot use t.Setenv.
func runKeysyncEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run keysync %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestVersion(t *testing.T) {
	r := runKeysync(t, t.TempDir(), "--version")
	if r.code != 0 || !bytes.Contains([]byte(r.stdout), []byte("keysync version")) {
		t.Fatalf("keysync --version: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
