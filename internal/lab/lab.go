// Package lab boots a throwaway Linux guest — Debian's stock amd64 kernel under QEMU software
// emulation — whose root file system is this machine's own / shared over 9p, and runs a script in
// it as root. Inside, the dummy, veth and ip_vs modules are loaded, so tests that need a real
// kernel with those drivers (which the host kernel of the CI machines lacks) run there, on the very
// same files: a test binary built on the host re-executes itself inside (see RunTestsInside).
//
// The guest owns its /proc, /sys, /dev, /run and /lib/modules; everything else — including /tmp,
// $HOME and the Go caches — is the host's, read and written through 9p. TMPDIR inside points to
// a guest tmpfs (/run/tmp): temporary files and Unix sockets (go-plugin's, which Terraform uses
// to reach a provider) then never depend on 9p.
//
// One guest runs at a time on a machine (2 cores): runs queue first come, first served, across
// processes, so lab tests of several packages (`go test ./...`) take turns. Commands:
// cmd/labrun runs a script in the lab, cmd/goldens regenerates the keepalived oracle's goldens.
//
// Knobs, all read from the environment at call time:
//
//	VIP_LAB_KVM=1         use -accel kvm instead of TCG (opt-in: it hangs in early boot on some machines)
//	VIP_LAB_QEMU=PATH     the QEMU binary (default qemu-system-x86_64 on PATH)
//	VIP_LAB_CACHE=DIR     where kernels are cached (default $XDG_CACHE_HOME or ~/.cache, /terraform-provider-vip-lab)
//	VIP_LAB_KERNEL=PKG    the kernel package (default: what linux-image-amd64 depends on)
//	VIP_LAB_NO_INSTALL=1  never apt-get install missing packages, even as root
//	VIP_LAB_CPU=MODEL     the guest CPU (default qemu64; "max" emulates AVX2 and AES-NI, which is slower here)
//	VIP_LAB_9P_CACHE=none the guest caches nothing of the host's files (default loose: see cache9p)
package lab

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvInside is set to "1" in the environment of every script the lab runs.
const EnvInside = "VIP_LAB"

// Hostname is the guest's host name. keepalived's config id defaults to it.
const Hostname = "vip-lab"

// ErrUnavailable is wrapped by every error that means the lab could not start (missing packages,
// no kernel, QEMU failing, the guest not reaching the script), as opposed to the script failing.
var ErrUnavailable = errors.New("kernel lab unavailable")

// ExitError is returned when the script ran and exited with a non-zero status.
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("lab script exited with status %d", e.Code)
}

//go:embed scripts/init.sh
var initScript []byte

//go:embed scripts/stage2.sh
var stage2Script []byte

// Config describes one guest boot.
type Config struct {
	// Script is run as root inside the guest. Without a "#!" line it runs with /bin/sh.
	Script string
	// Env is added to (and overrides) the host's environment for the script; see Environ.
	Env []string
	// Dir is the script's working directory inside; default: the caller's working directory.
	Dir string
	// Console, if set, receives the guest's serial console as it comes: the script's output
	// (stdout and stderr) mixed with kernel messages.
	Console io.Writer
	// BootTimeout bounds the time until the script starts; default 3 minutes. The context bounds
	// the whole run; without a deadline, the run is bounded at 60 minutes.
	BootTimeout time.Duration
	// HostForwards are QEMU user-network host forwards such as "tcp:127.0.0.1:2222-:22"; when
	// set, the guest gets one virtio NIC on QEMU's user network (10.0.2.15/24, not configured
	// by the lab: the script runs `ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up`).
	HostForwards []string
	// Log, if set, receives progress messages (preparing the kernel, waiting for another boot).
	Log func(format string, args ...any)
	// Systemd boots a guest with systemd as PID 1 that can reboot: see systemd.go. The script
	// then runs on every boot, with VIP_LAB_BOOT set to the boot number, and reboots the guest
	// by exiting with ExitReboot.
	Systemd bool
}

// Run boots the lab, runs script inside with env added to the host's environment and the
// current directory as working directory, and returns the script's combined output.
func Run(ctx context.Context, script string, env []string) ([]byte, error) {
	return Config{Script: script, Env: env}.Run(ctx)
}

// Run boots the lab and runs c.Script. The output is the script's stdout and stderr, exactly
// as written (it is also returned along with an error). A non-zero exit is an *ExitError; a
// lab that cannot start is an error wrapping ErrUnavailable.
func (c Config) Run(ctx context.Context) ([]byte, error) {
	logf := c.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 60*time.Minute)
		defer cancel()
	}
	// Before queueing for the machine's one guest: what can fail at once.
	qemu, err := qemuPath()
	if err != nil && os.Getenv("VIP_LAB_QEMU") != "" {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	cache, err := cacheDir()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	// One guest at a time on this machine: the machines have 2 cores, and benchmarks in the lab
	// need them.
	unlock, err := lockTurn(ctx, cache, func(holder string, ahead int) {
		logf("lab: one guest at a time on this machine: waiting for %d run(s) ahead, now %s", ahead, holder)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer unlock()

	k, err := prepare(ctx, cache, logf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if c.Systemd {
		if err := ensureSystemdPackages(ctx, logf); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if qemu == "" { // installed by prepare
		if qemu, err = qemuPath(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	run, err := os.MkdirTemp("", "vip-lab-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer os.RemoveAll(run)
	if err := c.writeRunDir(run, k); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}

	cmdline := "console=ttyS0 quiet panic=-1 oops=panic viplab=" + run + " viplab9p=" + cache9p()
	args := []string{
		"-accel", accel(), "-cpu", cpuModel(),
		"-m", "3G", "-smp", "2",
		"-nodefaults", "-display", "none",
		"-serial", "stdio", "-monitor", "none",
		"-kernel", k.vmlinuz,
		"-initrd", filepath.Join(run, "initrd.cpio"),
		"-fsdev", "local,id=root,path=/,security_model=passthrough,multidevs=remap",
		"-device", "virtio-9p-pci,fsdev=root,mount_tag=host",
		"-device", "virtio-rng-pci",
	}
	if c.Systemd {
		args = append(args, systemdArgs(run)...)
		cmdline += systemdCmdline
	} else {
		args = append(args, "-no-reboot")
	}
	args = append(args, "-append", cmdline)
	if len(c.HostForwards) > 0 {
		netdev := "user,id=net0"
		for _, f := range c.HostForwards {
			netdev += ",hostfwd=" + f
		}
		args = append(args, "-netdev", netdev, "-device", "virtio-net-pci,netdev=net0")
	} else {
		args = append(args, "-nic", "none")
	}
	cmd := exec.Command(qemu, args...)
	cmd.Stdin = nil
	cmd.SysProcAttr = qemuProcAttr()
	console := &tail{max: 64 << 10}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	var copying sync.WaitGroup
	copying.Add(1)
	go func() {
		defer copying.Done()
		copyConsole(c.Console, console, pr)
	}()
	if err := cmd.Start(); err != nil {
		pw.Close()
		copying.Wait()
		return nil, fmt.Errorf("%w: start %s: %v", ErrUnavailable, qemu, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()

	bootTimeout := c.BootTimeout
	if bootTimeout == 0 {
		bootTimeout = 3 * time.Minute
	}
	bootDeadline := time.Now().Add(bootTimeout)
	started := filepath.Join(run, "started")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var waitErr error
	var timedOut string
wait:
	for {
		select {
		case waitErr = <-exited:
			break wait
		case <-ctx.Done():
			timedOut = "the context ended (" + ctx.Err().Error() + ")"
		case <-tick.C:
			if time.Now().After(bootDeadline) && !exists(started) {
				timedOut = fmt.Sprintf("the guest did not reach the script within %s", bootTimeout)
			}
		}
		if timedOut != "" {
			_ = cmd.Process.Kill()
			waitErr = <-exited
			break
		}
	}
	copying.Wait()

	output, _ := os.ReadFile(filepath.Join(run, "output"))
	if b, err := os.ReadFile(filepath.Join(run, "boot-seconds")); err == nil {
		s2, _ := os.ReadFile(filepath.Join(run, "stage2-seconds"))
		logf("lab: guest kernel %s reached the script %ss after boot (stage 2 at %ss)", k.release, bytes.TrimSpace(b), bytes.TrimSpace(s2))
	}
	if !exists(started) {
		reason := timedOut
		if reason == "" {
			reason = fmt.Sprintf("QEMU exited (%v) before the script started", waitErr)
		}
		return output, fmt.Errorf("%w: %s; console:\n%s", ErrUnavailable, reason, console.String())
	}
	if timedOut != "" {
		return output, fmt.Errorf("lab script killed: %s", timedOut)
	}
	rcText, err := os.ReadFile(filepath.Join(run, "rc"))
	if err != nil {
		return output, fmt.Errorf("lab guest stopped before the script finished (QEMU: %v); console:\n%s", waitErr, console.String())
	}
	rc, err := strconv.Atoi(strings.TrimSpace(string(rcText)))
	if err != nil {
		return output, fmt.Errorf("lab: bad exit status %q", rcText)
	}
	if rc != 0 {
		return output, &ExitError{Code: rc}
	}
	return output, nil
}

func (c Config) writeRunDir(run string, k *kernel) error {
	initrd, err := buildInitramfs(k, c.Systemd)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(run, "initrd.cpio"), initrd, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(run, "stage2.sh"), stage2Script, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(k.modules, filepath.Join(run, "modules")); err != nil {
		return err
	}
	if c.Systemd {
		if err := writeSystemdRunDir(run); err != nil {
			return err
		}
	}
	script := c.Script
	if !strings.HasPrefix(script, "#!") {
		script = "#!/bin/sh\n" + script
	}
	if err := os.WriteFile(filepath.Join(run, "script"), []byte(script), 0o755); err != nil {
		return err
	}
	dir := c.Dir
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return err
		}
	}
	env := append(Environ(c.Env), "VIP_LAB_DIR="+dir)
	return os.WriteFile(filepath.Join(run, "env"), shellAssignments(env), 0o600)
}

// hostOnly reports whether the host variable name means nothing inside the guest.
func hostOnly(name string) bool {
	switch name {
	case "SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "DISPLAY",
		"XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "TMPDIR", "PWD", "OLDPWD", "SHLVL", "_":
		return true
	}
	return false
}

// Environ is the environment a lab script gets: the host's, without what only makes sense on
// the host (agent sockets, PWD, TMPDIR), plus VIP_LAB=1, TMPDIR=/run/tmp, and HOME, GOCACHE,
// GOMODCACHE and TF_ACC_TERRAFORM_PATH pinned to the host's values (they are reachable over 9p),
// then extra, which overrides.
func Environ(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !hostOnly(name) {
			env = append(env, kv)
		}
	}
	env = append(env, EnvInside+"=1", "TMPDIR=/run/tmp", "HOSTNAME="+Hostname)
	if os.Getenv("HOME") == "" {
		if home, err := os.UserHomeDir(); err == nil {
			env = append(env, "HOME="+home)
		}
	}
	for _, v := range []string{"GOCACHE", "GOMODCACHE"} {
		if os.Getenv(v) != "" {
			continue
		}
		if out, err := exec.Command("go", "env", v).Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
			env = append(env, v+"="+string(bytes.TrimSpace(out)))
		}
	}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if tf, err := exec.LookPath("terraform"); err == nil {
			if abs, err := filepath.Abs(tf); err == nil {
				env = append(env, "TF_ACC_TERRAFORM_PATH="+abs)
			}
		}
	}
	return append(env, extra...)
}

var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// shellAssignments renders env as sh assignments, later entries overriding earlier ones; names
// that are not shell identifiers are dropped (sh cannot export them).
func shellAssignments(env []string) []byte {
	var b bytes.Buffer
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !shellName.MatchString(name) {
			continue
		}
		b.WriteString(name)
		b.WriteString("='")
		b.WriteString(strings.ReplaceAll(value, "'", `'\''`))
		b.WriteString("'\n")
	}
	return b.Bytes()
}

func accel() string {
	if os.Getenv("VIP_LAB_KVM") == "1" {
		return "kvm"
	}
	return "tcg"
}

// cache9p is the 9p cache mode of the guest's root: VIP_LAB_9P_CACHE, default loose. With
// loose, the guest keeps what it read from the host's files in its page cache: executables
// (terraform, test binaries) start 2-6 times faster than with none, where every page fault is a
// round trip to the host. The guest's writes still go straight to the host, but a host file that
// the host changes while the guest runs may look stale inside: prepare files before the boot, or
// set VIP_LAB_9P_CACHE=none.
func cache9p() string {
	switch c := os.Getenv("VIP_LAB_9P_CACHE"); c {
	case "loose", "fscache", "mmap", "none":
		return c
	}
	return "loose"
}

// cpuModel is the guest CPU: VIP_LAB_CPU, default qemu64 (QEMU's default for TCG).
func cpuModel() string {
	if c := os.Getenv("VIP_LAB_CPU"); c != "" {
		return c
	}
	return "qemu64"
}

func qemuPath() (string, error) {
	if p := os.Getenv("VIP_LAB_QEMU"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("VIP_LAB_QEMU: %w", err)
		}
		return p, nil
	}
	p, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", fmt.Errorf("qemu-system-x86_64 not found: install the Debian package qemu-system-x86")
	}
	return p, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// copyConsole copies QEMU's serial console to w (if any) and to t, line by line, without the
// carriage returns the guest's tty adds.
func copyConsole(w io.Writer, t *tail, r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.ReplaceAll(line, []byte("\r"), nil)
			_, _ = t.Write(line) // an in-memory tail: it cannot fail
			if w != nil {
				_, _ = w.Write(line)
			}
		}
		if err != nil {
			return
		}
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
