//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// baseArgs run only the checker (LVS) part, in the foreground, logging to the console and not
// to syslog (the guest has none, and glibc would copy every line to /dev/console), and dump the
// configuration once it is installed.
var baseArgs = []string{"-C", "-n", "-l", "-G", "-d"}

const (
	startupTimeout = 2 * time.Minute
	stopTimeout    = 30 * time.Second
)

// oracleArgs returns the extra arguments of a corpus file: its first line, if it reads
// "# oracle-args: ARGS", split on white space.
func oracleArgs(conf []byte) []string {
	first, _, _ := bytes.Cut(conf, []byte("\n"))
	rest, ok := bytes.CutPrefix(bytes.TrimSpace(first), []byte("# oracle-args:"))
	if !ok {
		return nil
	}
	return strings.Fields(string(rest))
}

// generate runs keepalived on dir/name and writes dir/name.golden.
func generate(ctx context.Context, dir, name string) error {
	conf, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	args := append(append(append([]string{}, baseArgs...), "-f", name), oracleArgs(conf)...)
	lines, result, err := runKeepalived(ctx, dir, args)
	if err != nil {
		return err
	}
	version, err := keepalivedVersion(ctx)
	if err != nil {
		return err
	}
	golden := render(version, args, lines, result)
	return os.WriteFile(filepath.Join(dir, name+".golden"), golden, 0o644)
}

func keepalivedVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "keepalived", "--version").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	if err != nil || !strings.HasPrefix(first, "Keepalived v") {
		return "", fmt.Errorf("keepalived --version: %v: %s (install the Debian package keepalived)", err, out)
	}
	return strings.TrimSpace(first), nil
}

// runKeepalived runs keepalived with args in dir until it has installed and dumped its
// configuration (then stops it with SIGTERM, which the checker process only handles after the
// dump) or exits by itself, and returns its console lines and how it ended.
func runKeepalived(ctx context.Context, dir string, args []string) ([]string, string, error) {
	// A clean slate: no IPVS services or pid files left by the previous config.
	_ = exec.CommandContext(ctx, "ipvsadm", "-C").Run()
	for _, p := range []string{"/run/keepalived.pid", "/run/checkers.pid", "/run/vrrp.pid", "/run/bfd.pid"} {
		os.Remove(p)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command("keepalived", args...)
	cmd.Dir = dir
	cmd.Stdout = pw
	cmd.Stderr = pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, "", fmt.Errorf("start keepalived (install the Debian package keepalived): %w", err)
	}
	pw.Close()

	var lines []string
	var startupResult string
	startup := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		started := false
		for sc.Scan() {
			line := stripTimestamp(sc.Text())
			lines = append(lines, line)
			if started {
				continue
			}
			switch line {
			case "Startup complete":
				startupResult = "started"
			case "Warning - keepalived has no configuration to run":
				startupResult = "idle"
			default:
				continue
			}
			started = true
			close(startup)
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	stop := func() error {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited //nolint:errcheck // killed on purpose: its exit status says nothing more
			return fmt.Errorf("keepalived did not stop within %s of SIGTERM", stopTimeout)
		}
	}
	var result string
	select {
	case <-startup:
		if err := stop(); err != nil && !isExit(err) {
			return nil, "", err
		}
		result = startupResult
	case err := <-exited:
		result = "exited: " + exitText(err)
	case <-time.After(startupTimeout):
		if err := stop(); err != nil && !isExit(err) {
			return nil, "", err
		}
		result = fmt.Sprintf("no startup within %s", startupTimeout)
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited //nolint:errcheck // killed on purpose: its exit status says nothing more
		return nil, "", ctx.Err()
	}
	// Children may still hold the pipe.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	pr.Close()
	return lines, result, nil
}

func isExit(err error) bool {
	_, ok := err.(*exec.ExitError)
	return ok
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "signal " + ws.Signal().String()
		}
		return fmt.Sprintf("status %d", ee.ExitCode())
	}
	return err.Error()
}

// timestamp is the "%c: " prefix keepalived gives console lines in the C locale.
var timestamp = regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}: `)

func stripTimestamp(line string) string {
	return timestamp.ReplaceAllString(line, "")
}

// dropped are lines about processes, hosts and times rather than the configuration.
var dropped = []*regexp.Regexp{
	regexp.MustCompile(`^Starting Keepalived v`),
	regexp.MustCompile(`^Running on Linux `),
	regexp.MustCompile(`^Command line: `),
	regexp.MustCompile(`^Starting (Healthcheck|VRRP|BFD) child process, pid=`),
	regexp.MustCompile(`^Startup complete$`),
	regexp.MustCompile(`^Stopping$`),
	regexp.MustCompile(`^Stopped( - used .*)?$`),
	regexp.MustCompile(`^Stopped Keepalived v`),
	regexp.MustCompile(`^Script user '.*' does not exist$`),
	regexp.MustCompile(`^Unable to access script `),
}

var pids = regexp.MustCompile(`(pid[= ]|process ?\(|PID )[0-9]+`)

const (
	headerGlobal = "------< Global definitions >------"
	headerPrefix = "------<"
)

// render makes the golden text; GOLDENS.md describes it.
func render(version string, args, lines []string, result string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# oracle: %s\n", version)
	fmt.Fprintf(&b, "# command: keepalived %s\n", strings.Join(args, " "))
	const (
		pre = iota
		global
		dump
		post
	)
	state := pre
	for _, line := range lines {
		if isDropped(line) {
			continue
		}
		line = pids.ReplaceAllString(line, "${1}N")
		header := strings.HasPrefix(line, headerPrefix)
		switch state {
		case pre:
			if line == headerGlobal {
				state = global
				continue
			}
			if header {
				state = dump
			}
		case global:
			if !header {
				continue
			}
			state = dump
		case dump:
			if !header && !strings.HasPrefix(line, " ") {
				state = post
				continue
			}
		case post:
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "# result: %s\n", result)
	return b.Bytes()
}

func isDropped(line string) bool {
	for _, re := range dropped {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}
