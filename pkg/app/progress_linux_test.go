//go:build linux

package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal: the program writes to tty as to a real
// terminal, and the test reads what it shows from master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		master.Close()
		t.Skipf("TIOCGPTN: %v", e)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		master.Close()
		t.Skipf("TIOCSPTLCK: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Skipf("open the pty's terminal: %v", err)
	}
	return master, tty
}

// syncOnTTY runs sync in-process with stderr a terminal and returns what
// the terminal showed.
func syncOnTTY(t *testing.T, global ...string) string {
	t.Helper()
	f := newHistFixture(t)
	f.inputs([]string{"K1", "K2"}, []string{"K1", "X"})
	master, tty := openPTY(t)
	var shown bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // drain, or a full pty buffer would block the writer
		defer wg.Done()
		io.Copy(&shown, master)
	}()
	var out bytes.Buffer
	a := New(Env{Stdout: &out, Stderr: tty, Now: func() time.Time { return histDay(1) }})
	args := append(append([]string{"keysync"}, global...), "sync", "--config", f.path("keysync-config.yaml"))
	err := a.RunContext(context.Background(), args)
	tty.Close()
	wg.Wait() // the master reads EIO once the terminal side is closed
	master.Close()
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, shown.String())
	}
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Errorf("stdout holds terminal control characters: %q", out.String())
	}
	return shown.String()
}

// On a terminal, sync shows each source's line and the phase line.
func TestProgressOnTerminal(t *testing.T) {
	shown := syncOnTTY(t)
	for _, want := range []string{"\x1b[K", "  A ", "  B ", " rows ", "load ", "compare ", "write "} {
		if !strings.Contains(shown, want) {
			t.Errorf("the terminal did not show %q:\n%q", want, shown)
		}
	}
	if !strings.Contains(shown, `msg="run succeeded"`) {
		t.Errorf("the logs are missing from the terminal:\n%q", shown)
	}
}

// --quiet turns the progress off, on a terminal too.
func TestProgressQuiet(t *testing.T) {
	shown := syncOnTTY(t, "--quiet")
	for _, bad := range []string{"\x1b[", "\r\x1b", " rows ", "load "} {
		if strings.Contains(shown, bad) {
			t.Errorf("the terminal showed %q with --quiet:\n%q", bad, shown)
		}
	}
}
