package lab

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Inside reports whether this process runs inside the lab guest.
func Inside() bool {
	return os.Getenv(EnvInside) == "1"
}

// Require skips t unless it runs inside the lab guest, where the host-side test named by via
// (e.g. "TestKernelLab") runs it. Call it first in every test that needs the lab's kernel.
func Require(t testing.TB, via string) {
	t.Helper()
	if !Inside() {
		t.Skipf("runs inside the kernel lab, via %s", via)
	}
}

// RunTestsInside re-executes the current test binary inside the lab guest with
// -test.run pattern -test.v (plus extra arguments, e.g. "-test.bench", "^BenchmarkLab"), in the
// current directory, logging its output line by line, and fails t if it fails. When the lab cannot
// start, t is skipped with the reason — or fails, when CI=true: CI must never pass without the lab.
func RunTestsInside(t *testing.T, pattern string, extra ...string) {
	t.Helper()
	if Inside() {
		t.Skip("already inside the kernel lab")
	}
	args := []string{os.Args[0], "-test.run", pattern, "-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	ctx := context.Background()
	timeoutArg := ""
	if deadline, ok := t.Deadline(); ok {
		// Leave time to report. The inner binary's own timeout (which dumps the goroutines of
		// a hung test) is computed in the guest, since waiting for the lab lock and booting
		// take a while.
		deadline = deadline.Add(-10 * time.Second)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
		timeoutArg = fmt.Sprintf(" -test.timeout $(( %d - $(date +%%s) - 5 ))s", deadline.Unix())
	}
	args = append(args, extra...)
	exe, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	args[0] = exe
	var script strings.Builder
	script.WriteString("exec")
	for _, a := range args {
		script.WriteString(" " + shellQuote(a))
	}
	script.WriteString(timeoutArg + "\n")

	lw := &lineLogger{t: t}
	start := time.Now()
	_, err = Config{Script: script.String(), Console: lw, Log: t.Logf}.Run(ctx)
	lw.flush()
	t.Logf("lab: %s in the guest, %s in all", strings.Join(args[1:], " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		Unavailable(t, err)
		t.Fatalf("tests inside the kernel lab failed: %v", err)
	}
}

// Unavailable handles err from a lab run: if it means the lab could not start, t fails when
// CI=true and is skipped otherwise. Other errors are left to the caller.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true, so this fails rather than skips: %v", err)
		return
	}
	t.Skipf("skipped (it fails when CI=true): %v", err)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lineLogger passes the guest console to t.Log one line at a time, so that with -v the output
// streams while the guest runs.
type lineLogger struct {
	t    testing.TB
	mu   sync.Mutex
	part []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.t.Log("guest| " + string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.part) > 0 {
		l.t.Log("guest| " + string(l.part))
		l.part = nil
	}
}

// BenchFlags are this test binary's -test.bench and -test.benchtime, to pass on to
// RunTestsInside so that `go test -bench` on the host runs the benchmarks in the guest too. It is
// empty when no benchmarks were asked for.
func BenchFlags() []string {
	b := flag.Lookup("test.bench")
	if b == nil || b.Value.String() == "" {
		return nil
	}
	args := []string{"-test.bench", b.Value.String()}
	if bt := flag.Lookup("test.benchtime"); bt != nil {
		args = append(args, "-test.benchtime", bt.Value.String())
	}
	return args
}

// PrivateEtc gives the guest its own copy of /etc, bind-mounted over the host's, for the rest of
// the guest's life, so that a test that adds users or sudoers rules inside the guest changes
// nothing on the host (whose /etc the guest otherwise writes through 9p). Inside the lab only.
func PrivateEtc(t testing.TB) {
	t.Helper()
	if !Inside() {
		t.Fatal("lab.PrivateEtc outside the lab guest would change this machine's /etc")
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/etc" {
			return // done by an earlier test in this guest
		}
	}
	const copyDir = "/run/lab-etc" // /run is the guest's own tmpfs
	for _, args := range [][]string{{"cp", "-a", "/etc", copyDir}, {"mount", "--bind", copyDir, "/etc"}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// SharedTempDir returns a directory that every lab guest sees at the same path, also a systemd
// guest (whose /tmp is its own): under the lab's cache directory. It is removed when t ends.
func SharedTempDir(t testing.TB) string {
	t.Helper()
	cache, err := cacheDir()
	if err == nil {
		err = os.MkdirAll(cache, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(cache, "shared-") //nolint:usetesting // t.TempDir is under /tmp, which a systemd guest does not see

	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// rebootRequest is the file by which a test inside a systemd guest asks for a reboot once the
// test binary has passed (see RequestReboot).
const rebootRequest = "/var/lib/viplab-reboot-requested"

// RequestReboot, inside a systemd guest, makes RunTestsInsideSystemd reboot the guest when the
// test binary passes, and run it again on the next boot (VIP_LAB_BOOT one higher).
func RequestReboot(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(rebootRequest, []byte(t.Name()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Boot is the boot number of a systemd guest (1, 2, ...), 0 elsewhere.
func Boot() int {
	n, _ := strconv.Atoi(os.Getenv(EnvBoot))
	return n
}

// RunTestsInsideSystemd runs the tests matching pattern inside a systemd guest (Config.Systemd),
// on every boot: a copy of this test binary in dir (a SharedTempDir) runs with -test.run pattern
// -test.v and extra; when it passes and a test called RequestReboot, the guest reboots with
// `systemctl reboot` and runs it again. t fails if a run fails, and fails or skips as
// RunTestsInside when the lab cannot start.
func RunTestsInsideSystemd(t *testing.T, dir, pattern string, extra ...string) {
	t.Helper()
	if Inside() {
		t.Skip("already inside the kernel lab")
	}
	bin := filepath.Join(dir, "lab.test")
	data, err := os.ReadFile(os.Args[0])
	if err == nil {
		err = os.WriteFile(bin, data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-10*time.Second))
		defer cancel()
	}
	var script strings.Builder
	script.WriteString("rm -f " + rebootRequest + "\n" + shellQuote(bin) + " -test.run " + shellQuote(pattern) + " -test.v")
	for _, a := range extra {
		script.WriteString(" " + shellQuote(a))
	}
	fmt.Fprintf(&script, "\nrc=$?\nif [ $rc -eq 0 ] && [ -e %s ]; then exit %d; fi\nexit $rc\n", rebootRequest, ExitReboot)
	lw := &lineLogger{t: t}
	start := time.Now()
	_, err = Config{Script: script.String(), Console: lw, Log: t.Logf, Systemd: true, BootTimeout: 5 * time.Minute}.Run(ctx)
	lw.flush()
	t.Logf("lab: %s in a systemd guest, %s in all", pattern, time.Since(start).Round(time.Millisecond))
	if err != nil {
		Unavailable(t, err)
		t.Fatalf("tests inside the systemd lab guest failed: %v", err)
	}
}
