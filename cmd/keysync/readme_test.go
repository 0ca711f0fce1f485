package main

// The README teaches by example: every keysync command in its ```sh blocks
// must work on the shipped inputs, in the order given, and where it says
// "static" the build must be static.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeCommands are the keysync command lines of README.md's ```sh blocks,
// in order: lines that start with keysync (after any VAR=value), with
// `go run ./cmd/keysync` read as keysync. A redirection to a file (a man
// page to /usr/local/share) is dropped: the command must still succeed.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?ms)^```sh\\s*\\n(.*?)^```").FindAllStringSubmatch(string(b), -1)
	cmd := regexp.MustCompile(`^([A-Z_]+=\S+ )*keysync `)
	var out []string
	for _, m := range blocks {
		for _, line := range strings.Split(m[1], "\n") {
			line = strings.Replace(line, "go run ./cmd/keysync ", "keysync ", 1)
			if !cmd.MatchString(line) {
				continue
			}
			if i := strings.Index(line, " > "); i >= 0 {
				line = line[:i]
			}
			out = append(out, line)
		}
	}
	return out
}

// wantExit is the exit code a README line expects: "# exit N" in its
// comment, else 0.
func wantExit(line string) int {
	if m := regexp.MustCompile(`# exit (\d)`).FindStringSubmatch(line); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func TestREADMECommands(t *testing.T) {
	lines := readmeCommands(t)
	if len(lines) < 15 {
		t.Fatalf("found %d keysync commands in README.md's sh blocks, want the examples: %q", len(lines), lines)
	}
	dir := shipped(t)
	path := filepath.Dir(binPath) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, line := range lines {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+path)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if want := wantExit(line); code != want {
			t.Errorf("README command %q: exit %d, want %d\n%s", line, code, want, out)
		}
	}
}

// TestREADMESelfContained: the README names no file outside the repository,
// defines every summary column, and its example keys are in the shipped data.
func TestREADMESelfContained(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, bad := range []string{"../shared", "SPEC.md", "INV-00000042", "one static binary"} {
		if strings.Contains(readme, bad) {
			t.Errorf("README.md mentions %q", bad)
		}
	}
	if !strings.Contains(readme, "**`matched`** the peer's distinct keys that the authority") {
		t.Error("README.md does not define matched")
	}
}

// TestStaticBuild: the README says CGO_ENABLED=0 gives a static binary.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keysync without cgo")
	}
	bin := filepath.Join(t.TempDir(), "keysync")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Errorf("go version -m: %v\n%s", err, out)
	}
	if r := runIn(t, bin, t.TempDir(), nil, "version"); r.code != 0 {
		t.Errorf("the static binary: keysync version exit %d: %s", r.code, r.stderr)
	}
}
