// Package sshtest starts real OpenSSH servers (Debian's openssh-server) for tests: each with its
// own host keys, authorized_keys and log in a temporary directory, on 127.0.0.1 with a free port or
// inside a network namespace reached over a veth pair. It also creates throwaway users and keys
// with the real ssh-keygen. Tests that need root (users, namespaces) skip without it.
package sshtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// SSHD is the path of the OpenSSH server.
const SSHD = "/usr/sbin/sshd"

// Require skips the test when sshd or root is missing, with what to install.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: apt-get install -y openssh-server", SSHD)
		}
		t.Skipf("%s is missing: apt-get install -y openssh-server", SSHD)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is missing: apt-get install -y openssh-client")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("these tests start sshd and need root")
		}
		t.Skip("these tests start sshd and need root")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege-separation dir
		t.Fatal(err)
	}
}

// LookPath finds a program the tests need, as exec.LookPath does.
func LookPath(name string) (string, error) { return exec.LookPath(name) }

// Missing fails t (CI=true) or skips it: the Debian package that holds name is not installed.
func Missing(t testing.TB, name string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing: bash scripts/install-deps.sh", name)
	}
	t.Skipf("%s is missing: bash scripts/install-deps.sh", name)
}

// Options configure one sshd.
type Options struct {
	// Netns, when set, runs sshd inside this network namespace (see NewNetns), on port 22 of
	// ListenAddr.
	Netns string
	// ListenAddr defaults to 127.0.0.1 (with a free port) or, in a netns, to its address.
	ListenAddr string
	// Port, when set outside a netns, is the port instead of a free one (a test whose host
	// address must stay the same across reboots of the lab guest).
	Port int
	// HostKeyTypes are generated host keys; default ed25519.
	HostKeyTypes []string
	// AuthorizedKeys are public-key lines accepted for every user.
	AuthorizedKeys []string
	// TrustedUserCAKeys is a public CA key line; certificates it signed are accepted.
	TrustedUserCAKeys string
	// Password enables password and keyboard-interactive authentication.
	Password bool
	// Extra are more sshd_config lines.
	Extra []string
	// HostCA, when set, is a CA private key (see KeyGen) that signs every host key into a host
	// certificate, which sshd presents (HostCertificate), for the principals HostCertPrincipals
	// (default: the address sshd listens on).
	HostCA             string
	HostCertPrincipals []string
	// Hostname, when set, runs sshd in its own UTS namespace with this host name, e.g. one that
	// does not resolve, so that sudo there prints "sudo: unable to resolve host ..." as on
	// many real servers.
	Hostname string
	// PrivateRunLock runs sshd (and so every session) with a /run/lock of its own, a tmpfs in a
	// mount namespace of its own, as each real server has: servers in network namespaces of one
	// machine otherwise share its /run/lock, and with it the helper's per-host apply lock.
	PrivateRunLock bool
}

// Server is a running sshd.
type Server struct {
	Dir      string
	Host     string // address to dial
	Port     int
	HostKeys []string // public host key lines, one per HostKeyTypes
	LogPath  string

	t      testing.TB
	opts   Options
	config string
	cmd    *exec.Cmd
	exited chan struct{}
}

// PID is the process id of the listening sshd (ip netns exec and unshare exec it in place), whose
// children are the per-connection sshd processes: its cumulative children's CPU time in
// /proc/PID/stat is what the connections that ended cost at this server.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Start starts sshd and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t)
	// Not t.TempDir: its parent is 0700, and sshd reads authorized_keys as the logged-in user.
	dir, err := os.MkdirTemp("", "sshtest") //nolint:usetesting // see above
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, t: t, opts: opts, LogPath: filepath.Join(dir, "sshd.log")}
	types := opts.HostKeyTypes
	if len(types) == 0 {
		types = []string{"ed25519"}
	}
	var cfg []string
	for _, typ := range types {
		priv, pub := KeyGen(t, dir, "host_"+typ, typ, "")
		s.HostKeys = append(s.HostKeys, strings.TrimSpace(ReadFile(t, pub)))
		cfg = append(cfg, "HostKey "+priv)
		if opts.HostCA != "" {
			principals := opts.HostCertPrincipals
			if len(principals) == 0 {
				principals = []string{opts.ListenAddr}
				if opts.ListenAddr == "" {
					principals = []string{"127.0.0.1"}
				}
			}
			Run(t, "ssh-keygen", "-q", "-s", opts.HostCA, "-I", "host_"+typ, "-h", "-n", strings.Join(principals, ","), pub)
			cfg = append(cfg, "HostCertificate "+strings.TrimSuffix(pub, ".pub")+"-cert.pub")
		}
	}
	ak := filepath.Join(dir, "authorized_keys")
	WriteFile(t, ak, strings.Join(opts.AuthorizedKeys, "\n")+"\n", 0o644)
	s.Host = opts.ListenAddr
	if opts.Netns != "" {
		s.Port = 22
	} else {
		if s.Host == "" {
			s.Host = "127.0.0.1"
		}
		s.Port = opts.Port
		if s.Port == 0 {
			s.Port = FreePort(t)
		}
	}
	cfg = append(cfg,
		"ListenAddress "+net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		"PidFile "+filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile "+ak,
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin yes",
		"LogLevel DEBUG1",
		"MaxStartups 100",
		"AllowTcpForwarding yes",
		"Subsystem sftp internal-sftp",
		// Debian's bash sources ~/.bashrc when sshd runs it, even for a command, unless it is
		// nested (SHLVL >= 1). The machines' root .bashrc runs `pyenv init`, which is slow under
		// emulation and hangs on a stale lock left by a session killed mid-rehash; the tests
		// want the server's behaviour, not the test machine's shell setup.
		"SetEnv SHLVL=1",
	)
	if opts.Password {
		cfg = append(cfg, "PasswordAuthentication yes", "KbdInteractiveAuthentication yes")
	} else {
		cfg = append(cfg, "PasswordAuthentication no", "KbdInteractiveAuthentication no")
	}
	if opts.TrustedUserCAKeys != "" {
		ca := filepath.Join(dir, "user_ca.pub")
		WriteFile(t, ca, opts.TrustedUserCAKeys+"\n", 0o644)
		cfg = append(cfg, "TrustedUserCAKeys "+ca)
	}
	cfg = append(cfg, opts.Extra...)
	s.config = filepath.Join(dir, "sshd_config")
	WriteFile(t, s.config, strings.Join(cfg, "\n")+"\n", 0o600)
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	args := []string{SSHD, "-D", "-f", s.config, "-E", s.LogPath}
	if s.opts.PrivateRunLock {
		if err := os.MkdirAll("/run/lock", 0o755); err != nil {
			s.t.Fatalf("private /run/lock: %v", err)
		}
		args = append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs -o mode=0755 tmpfs /run/lock && exec "$@"`, "sh"}, args...)
	}
	if s.opts.Hostname != "" {
		args = append([]string{"unshare", "--uts", "sh", "-c", `hostname "$0" && exec "$@"`, s.opts.Hostname}, args...)
	}
	if s.opts.Netns != "" {
		args = append([]string{"ip", "netns", "exec", s.opts.Netns}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting sshd: %v", err)
	}
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			s.t.Fatalf("sshd exited at start: %s\n%s", stderr.String(), s.Log())
		default:
		}
		if strings.Contains(s.Log(), "Server listening on") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("sshd did not start listening within 10s:\n%s", s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills sshd with every process it started (per-connection sshd processes call setsid, so
// they are found by walking /proc for descendants), which drops every connection at once, as a
// crash of the real server would.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	for _, pid := range descendants(s.cmd.Process.Pid) {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// descendants lists the processes below pid, children first found by their parent id in
// /proc/PID/stat.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			parent[p] = pp
		}
	}
	var out []int
	want := map[int]bool{pid: true}
	for changed := true; changed; {
		changed = false
		for p, pp := range parent {
			if want[pp] && !want[p] {
				want[p] = true
				out = append(out, p)
				changed = true
			}
		}
	}
	return out
}

// Restart stops sshd (dropping every connection) and starts it again with the same keys and port.
func (s *Server) Restart() {
	s.Stop()
	_ = os.Remove(s.LogPath + ".old")
	_ = os.Rename(s.LogPath, s.LogPath+".old")
	s.start()
}

// Log is sshd's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// Connections counts the TCP connections sshd accepted since (re)start.
func (s *Server) Connections() int { return strings.Count(s.Log(), "Connection from ") }

// Accepted counts the successful authentications since (re)start.
func (s *Server) Accepted() int { return strings.Count(s.Log(), "Accepted ") }

// KeyGen makes a key pair with the real ssh-keygen; extra are more ssh-keygen arguments
// (e.g. "-m", "PEM"). It returns the private and public key paths.
func KeyGen(t testing.TB, dir, name, typ, passphrase string, extra ...string) (priv, pub string) {
	t.Helper()
	priv = filepath.Join(dir, name)
	args := append([]string{"-q", "-t", typ, "-N", passphrase, "-C", name, "-f", priv}, extra...)
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	Run(t, "ssh-keygen", args...)
	return priv, priv + ".pub"
}

// Run runs a command and fails the test if it fails; it returns stdout.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// ReadFile reads a file or fails the test.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// WriteFile writes a file or fails the test.
func WriteFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // a "tcp" listener's address is always a *net.TCPAddr
}

var seq atomic.Int64

// unique is a short name part unique within the process and across concurrent test processes.
func unique() string {
	return fmt.Sprintf("%x%x", os.Getpid()%0xfff, seq.Add(1))
}

// AddUser creates a local user with /bin/sh as shell and the given password (a password is
// needed: with UsePAM no, sshd refuses every login to a locked account), and deletes it when the
// test ends. It returns the user name.
func AddUser(t testing.TB, password string) string {
	t.Helper()
	Require(t)
	name := "vipt" + unique()
	Run(t, "useradd", "-M", "-s", "/bin/sh", name)
	t.Cleanup(func() {
		_ = exec.Command("pkill", "-KILL", "-u", name).Run()
		_ = exec.Command("userdel", "-f", name).Run()
	})
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	return name
}

// AllowSudo writes a sudoers drop-in for user (NOPASSWD when nopasswd) and removes it when the test
// ends. sudo must be installed (apt-get install -y sudo).
func AllowSudo(t testing.TB, user string, nopasswd bool) {
	t.Helper()
	if _, err := exec.LookPath("sudo"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sudo is missing: apt-get install -y sudo")
		}
		t.Skip("sudo is missing: apt-get install -y sudo")
	}
	rule := user + " ALL=(ALL) ALL\n"
	if nopasswd {
		rule = user + " ALL=(ALL) NOPASSWD: ALL\n"
	}
	AllowSudoRule(t, user, rule)
}

// AllowSudoRule writes rule as user's sudoers drop-in (checked with visudo) and removes it when the
// test ends.
func AllowSudoRule(t testing.TB, user, rule string) {
	t.Helper()
	if _, err := exec.LookPath("sudo"); err != nil {
		Missing(t, "sudo")
	}
	path := "/etc/sudoers.d/" + user
	WriteFile(t, path, rule, 0o440)
	t.Cleanup(func() { _ = os.Remove(path) })
	Run(t, "visudo", "-c", "-f", path)
}

// Netns is a network namespace with a veth pair to the host: HostAddr on the host side,
// NsAddr inside.
type Netns struct {
	Name     string
	HostIf   string
	NsIf     string
	HostAddr string
	NsAddr   string
}

var netnsSeq atomic.Int64

// NewNetns creates a network namespace linked to the host by a veth pair with a /30 from
// 10.250.0.0/16 and removes both when the test ends.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	Require(t)
	n := netnsSeq.Add(1)
	id := fmt.Sprintf("%x%x", os.Getpid()%0xfff, n)
	// A /30 per namespace; the pid spreads concurrent test processes apart.
	block := (os.Getpid()*7 + int(n)) % 16384
	a, b := block/64, (block%64)*4
	ns := &Netns{
		Name:     "vipt" + id,
		HostIf:   "vh" + id,
		NsIf:     "vn" + id,
		HostAddr: fmt.Sprintf("10.250.%d.%d", a, b+1),
		NsAddr:   fmt.Sprintf("10.250.%d.%d", a, b+2),
	}
	_ = exec.Command("ip", "netns", "del", ns.Name).Run()
	Run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", ns.HostIf).Run()
		_ = exec.Command("ip", "netns", "del", ns.Name).Run()
	})
	Run(t, "ip", "link", "add", ns.HostIf, "type", "veth", "peer", "name", ns.NsIf, "netns", ns.Name)
	Run(t, "ip", "addr", "add", ns.HostAddr+"/30", "dev", ns.HostIf)
	Run(t, "ip", "link", "set", ns.HostIf, "up")
	ns.Exec(t, "ip", "addr", "add", ns.NsAddr+"/30", "dev", ns.NsIf)
	ns.Exec(t, "ip", "link", "set", ns.NsIf, "up")
	ns.Exec(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Exec runs a command inside the namespace and returns its stdout.
func (n *Netns) Exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	return Run(t, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}
