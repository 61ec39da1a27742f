package sshconn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// fixture is one sshd accepting one client key, and a known_hosts file that trusts it.
type fixture struct {
	srv        *sshtest.Server
	dir        string
	signer     ssh.Signer
	pubLine    string
	knownHosts string
}

func newFixture(t *testing.T, opts sshtest.Options) *fixture {
	t.Helper()
	sshtest.Require(t)
	dir := t.TempDir()
	priv, pub := sshtest.KeyGen(t, dir, "client", "ed25519", "")
	f := &fixture{dir: dir, pubLine: strings.TrimSpace(sshtest.ReadFile(t, pub))}
	opts.AuthorizedKeys = append(opts.AuthorizedKeys, f.pubLine)
	f.srv = sshtest.Start(t, opts)
	signer, err := sshconn.ParseSigner("client", []byte(sshtest.ReadFile(t, priv)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.signer = signer
	f.knownHosts = filepath.Join(dir, "known_hosts")
	var lines []string
	for _, hk := range f.srv.HostKeys {
		lines = append(lines, "["+f.srv.Host+"]:"+strconv.Itoa(f.srv.Port)+" "+hk)
	}
	sshtest.WriteFile(t, f.knownHosts, strings.Join(lines, "\n")+"\n", 0o600)
	return f
}

func (f *fixture) config() sshconn.Config {
	return sshconn.Config{
		User:            "root",
		Signers:         []ssh.Signer{f.signer},
		KnownHostsFiles: []string{f.knownHosts},
		Timeout:         10 * time.Second,
	}
}

func run(t *testing.T, cfg sshconn.Config, addr, program string) (*sshconn.Result, error) {
	t.Helper()
	p := sshconn.NewPool(cfg)
	defer p.Close()
	return p.Run(context.Background(), addr, program, nil)
}

func mustRun(t *testing.T, cfg sshconn.Config, addr, program string) string {
	t.Helper()
	res, err := run(t, cfg, addr, program)
	if err != nil {
		t.Fatalf("run %q on %s: %v", program, addr, err)
	}
	if res.ExitStatus != 0 {
		t.Fatalf("run %q on %s: exit %d: %s", program, addr, res.ExitStatus, res.Stderr)
	}
	return string(res.Stdout)
}

func TestHostKeyChecking(t *testing.T) {
	f := newFixture(t, sshtest.Options{})
	addr := f.srv.Addr()

	t.Run("known_hosts plain [host]:port entry", func(t *testing.T) {
		if out := mustRun(t, f.config(), addr, "echo ok"); out != "ok\n" {
			t.Fatalf("got %q", out)
		}
	})

	t.Run("hashed known_hosts (ssh-keygen -H)", func(t *testing.T) {
		hashed := filepath.Join(t.TempDir(), "known_hosts")
		sshtest.WriteFile(t, hashed, sshtest.ReadFile(t, f.knownHosts), 0o600)
		sshtest.Run(t, "ssh-keygen", "-H", "-f", hashed)
		if strings.Contains(sshtest.ReadFile(t, hashed), "127.0.0.1") {
			t.Fatal("ssh-keygen -H left the host name in clear")
		}
		cfg := f.config()
		cfg.KnownHostsFiles = []string{hashed}
		mustRun(t, cfg, addr, "true")
	})

	t.Run("unknown host key refused with fingerprint and known_hosts line", func(t *testing.T) {
		cfg := f.config()
		missing := filepath.Join(t.TempDir(), "nope", "known_hosts")
		cfg.KnownHostsFiles = []string{missing}
		_, err := run(t, cfg, addr, "true")
		var unknown *sshconn.UnknownHostKeyError
		if !errors.As(err, &unknown) {
			t.Fatalf("want UnknownHostKeyError, got %v", err)
		}
		// The fingerprint must be the one ssh-keygen prints for the server's key.
		fp := strings.Fields(sshtest.Run(t, "ssh-keygen", "-lf", filepath.Join(f.srv.Dir, "host_ed25519.pub")))[1]
		line := "[127.0.0.1]:" + strconv.Itoa(f.srv.Port) + " " + strings.Join(strings.Fields(f.srv.HostKeys[0])[:2], " ")
		msg := err.Error()
		for _, want := range []string{fp, line, addr, missing + " does not exist"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q:\n%s", want, msg)
			}
		}
		// The printed line, appended to known_hosts, is enough to connect.
		sshtest.WriteFile(t, filepath.Join(t.TempDir(), "x"), "", 0o600)
		kh := filepath.Join(t.TempDir(), "known_hosts")
		sshtest.WriteFile(t, kh, unknown.KnownHostLine+"\n", 0o600)
		cfg.KnownHostsFiles = []string{kh}
		mustRun(t, cfg, addr, "true")
	})

	t.Run("changed host key refused loudly", func(t *testing.T) {
		_, otherPub := sshtest.KeyGen(t, t.TempDir(), "other", "ed25519", "")
		kh := filepath.Join(t.TempDir(), "known_hosts")
		sshtest.WriteFile(t, kh, "[127.0.0.1]:"+strconv.Itoa(f.srv.Port)+" "+sshtest.ReadFile(t, otherPub), 0o600)
		cfg := f.config()
		cfg.KnownHostsFiles = []string{kh}
		_, err := run(t, cfg, addr, "true")
		var changed *sshconn.ChangedHostKeyError
		if !errors.As(err, &changed) {
			t.Fatalf("want ChangedHostKeyError, got %v", err)
		}
		if !strings.Contains(err.Error(), "HAS CHANGED") || !strings.Contains(err.Error(), kh+":1") {
			t.Errorf("message: %s", err)
		}
		if n := f.srv.Accepted(); n > 4 {
			t.Logf("accepted so far: %d", n)
		}
	})

	t.Run("pinned host key", func(t *testing.T) {
		cfg := f.config()
		cfg.KnownHostsFiles = nil
		pin, err := sshconn.ParsePublicKey(f.srv.HostKeys[0])
		if err != nil {
			t.Fatal(err)
		}
		cfg.HostKey = pin
		mustRun(t, cfg, addr, "true")

		_, otherPub := sshtest.KeyGen(t, t.TempDir(), "other", "ed25519", "")
		cfg.HostKey, _ = sshconn.ParsePublicKey(sshtest.ReadFile(t, otherPub))
		_, err = run(t, cfg, addr, "true")
		var changed *sshconn.ChangedHostKeyError
		if !errors.As(err, &changed) || !strings.Contains(err.Error(), "pins") {
			t.Fatalf("want ChangedHostKeyError naming the pin, got %v", err)
		}
	})

	t.Run("insecure_ignore_host_key", func(t *testing.T) {
		cfg := f.config()
		cfg.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "empty")}
		cfg.InsecureIgnoreHostKey = true
		mustRun(t, cfg, addr, "true")
	})
}

// A host with several host keys, known only by its RSA key, must not be reported as changed
// because it would prefer to show its Ed25519 key.
func TestHostKnownByOtherKeyType(t *testing.T) {
	f := newFixture(t, sshtest.Options{HostKeyTypes: []string{"ed25519", "rsa"}})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	sshtest.WriteFile(t, kh, "[127.0.0.1]:"+strconv.Itoa(f.srv.Port)+" "+f.srv.HostKeys[1]+"\n", 0o600)
	cfg := f.config()
	cfg.KnownHostsFiles = []string{kh}
	mustRun(t, cfg, f.srv.Addr(), "true")
}

func TestAuthMethods(t *testing.T) {
	sshtest.Require(t)
	dir := t.TempDir()
	_, caPub := sshtest.KeyGen(t, dir, "ca", "ed25519", "")
	pemPriv, pemPub := sshtest.KeyGen(t, dir, "pem", "rsa", "", "-m", "PEM")
	encPriv, encPub := sshtest.KeyGen(t, dir, "enc", "ed25519", "s3cret-pass")
	certPriv, _ := sshtest.KeyGen(t, dir, "certkey", "ed25519", "") // not in authorized_keys
	f := newFixture(t, sshtest.Options{
		Password:          true,
		TrustedUserCAKeys: strings.TrimSpace(sshtest.ReadFile(t, caPub)),
		AuthorizedKeys: []string{
			strings.TrimSpace(sshtest.ReadFile(t, pemPub)),
			strings.TrimSpace(sshtest.ReadFile(t, encPub)),
		},
	})
	addr := f.srv.Addr()
	base := f.config()
	base.Signers = nil

	t.Run("PEM RSA key", func(t *testing.T) {
		s, err := sshconn.ParseSigner("pem", []byte(sshtest.ReadFile(t, pemPriv)), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := base
		cfg.Signers = []ssh.Signer{s}
		mustRun(t, cfg, addr, "true")
	})

	t.Run("encrypted OpenSSH key", func(t *testing.T) {
		key := []byte(sshtest.ReadFile(t, encPriv))
		if _, err := sshconn.ParseSigner("ssh.private_key", key, nil, nil); err == nil || !strings.Contains(err.Error(), "private_key_passphrase") {
			t.Fatalf("missing passphrase: %v", err)
		}
		if _, err := sshconn.ParseSigner("ssh.private_key", key, []byte("wrong"), nil); err == nil || !strings.Contains(err.Error(), "passphrase is wrong") {
			t.Fatalf("wrong passphrase: %v", err)
		}
		s, err := sshconn.ParseSigner("ssh.private_key", key, []byte("s3cret-pass"), nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := base
		cfg.Signers = []ssh.Signer{s}
		mustRun(t, cfg, addr, "true")
	})

	t.Run("certificate signed by a trusted CA", func(t *testing.T) {
		sshtest.Run(t, "ssh-keygen", "-q", "-s", filepath.Join(dir, "ca"), "-I", "vip-test", "-n", "root", "-V", "-5m:+1h", certPriv+".pub")
		cert := []byte(sshtest.ReadFile(t, certPriv+"-cert.pub"))
		plain, err := sshconn.ParseSigner("certkey", []byte(sshtest.ReadFile(t, certPriv)), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := base
		cfg.Signers = []ssh.Signer{plain}
		if _, err := run(t, cfg, addr, "true"); err == nil || !strings.Contains(err.Error(), "authentication") {
			t.Fatalf("the bare key is not authorized, want auth error, got %v", err)
		}
		s, err := sshconn.ParseSigner("certkey", []byte(sshtest.ReadFile(t, certPriv)), nil, cert)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Signers = []ssh.Signer{s}
		mustRun(t, cfg, addr, "true")
		if !strings.Contains(f.srv.Log(), "Accepted publickey for root") || !strings.Contains(f.srv.Log(), "ID vip-test") {
			t.Errorf("sshd log does not show the certificate login:\n%s", f.srv.Log())
		}
	})

	t.Run("ssh-agent", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "agent.sock")
		agent := exec.Command("ssh-agent", "-D", "-a", sock)
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(sock); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		add := exec.Command("ssh-add", pemPriv)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add: %v: %s", err, out)
		}
		cfg := base
		cfg.AgentSocket = sock
		mustRun(t, cfg, addr, "true")

		cfg.AgentSocket = filepath.Join(t.TempDir(), "no-agent.sock")
		if _, err := run(t, cfg, addr, "true"); err == nil || !strings.Contains(err.Error(), "ssh-agent") {
			t.Fatalf("want an error naming the agent, got %v", err)
		}
		// An agent nobody asked for (Windows' pipe, service stopped) is skipped when not there.
		cfg.AgentOptional = true
		s, err := sshconn.ParseSigner("pem", []byte(sshtest.ReadFile(t, pemPriv)), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Signers = []ssh.Signer{s}
		mustRun(t, cfg, addr, "true")
	})

	t.Run("password", func(t *testing.T) {
		user := sshtest.AddUser(t, "pw-Sup3r-secret")
		cfg := base
		cfg.User = user
		cfg.Password = "pw-Sup3r-secret"
		if out := mustRun(t, cfg, addr, "id -un"); strings.TrimSpace(out) != user {
			t.Fatalf("id -un = %q", out)
		}
		cfg.Password = "wrong"
		_, err := run(t, cfg, addr, "true")
		if err == nil || !strings.Contains(err.Error(), "authentication as \""+user+"\"") || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("want auth error naming the user and not the password, got %v", err)
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		_, err := run(t, base, addr, "true")
		if err == nil || !strings.Contains(err.Error(), "no SSH credentials") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSudo(t *testing.T) {
	f := newFixture(t, sshtest.Options{})
	addr := f.srv.Addr()

	t.Run("NOPASSWD runs as root", func(t *testing.T) {
		user := sshtest.AddUser(t, "x-Pass-1")
		sshtest.AllowSudo(t, user, true)
		cfg := f.config()
		cfg.User = user
		if out := mustRun(t, cfg, addr, "id -u"); out == "0\n" {
			t.Fatalf("without sudo as %s: %q", user, out)
		}
		cfg.Sudo = true
		if out := mustRun(t, cfg, addr, "id -u"); out != "0\n" {
			t.Fatalf("id -u under sudo = %q", out)
		}
	})

	t.Run("password needed is a clear error, not a hang", func(t *testing.T) {
		user := sshtest.AddUser(t, "x-Pass-2")
		sshtest.AllowSudo(t, user, false)
		cfg := f.config()
		cfg.User = user
		cfg.Sudo = true
		start := time.Now()
		res, err := run(t, cfg, addr, "id -u")
		if err == nil {
			t.Logf("exit %d, stdout %q, stderr %q", res.ExitStatus, res.Stdout, res.Stderr)
		}
		var se *sshconn.SudoError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "password") || !strings.Contains(err.Error(), user) {
			t.Fatalf("want SudoError, got %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("took %s", time.Since(start))
		}
		t.Log(err)
	})
}

// The pool opens exactly one connection per host however many resources use it at once, and
// dials again when the pooled connection died.
func TestPoolOneConnectionPerHost(t *testing.T) {
	f := newFixture(t, sshtest.Options{})
	second := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []string{f.pubLine}})
	cfg := f.config()
	cfg.InsecureIgnoreHostKey = true // second has its own keys; host keys are tested above
	cfg.KnownHostsFiles = nil
	pool := sshconn.NewPool(cfg)
	defer pool.Close()

	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			addr := f.srv.Addr()
			if i%2 == 1 {
				addr = second.Addr()
			}
			res, err := pool.Run(context.Background(), addr, "echo $$", nil)
			if err == nil && res.ExitStatus != 0 {
				err = errors.New(string(res.Stderr))
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := pool.Dials(); got != 2 {
		t.Errorf("pool dialed %d times for 2 hosts", got)
	}
	if a, b := f.srv.Connections(), second.Connections(); a != 1 || b != 1 {
		t.Errorf("sshd saw %d and %d connections, want 1 each", a, b)
	}
	// The same host written differently is the same connection.
	if _, err := pool.Run(context.Background(), "127.0.0.1:"+strconv.Itoa(f.srv.Port), "true", nil); err != nil {
		t.Fatal(err)
	}
	if f.srv.Connections() != 1 {
		t.Errorf("a second connection for the same host")
	}

	t.Logf("40 runs: %s", time.Since(t0))
	// sshd restarted: every connection dropped. The next use dials once more and works.
	old, err := pool.Get(context.Background(), f.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Restart()
	for i := 0; i < 100 && old.Alive(); i++ { // the client notices the closed TCP connection
		time.Sleep(10 * time.Millisecond)
	}
	if out, err := pool.Run(context.Background(), f.srv.Addr(), "echo again", nil); err != nil || string(out.Stdout) != "again\n" {
		t.Fatalf("after restart: %v", err)
	}
	t.Logf("restart and reconnect: %s", time.Since(t0))
	if got := pool.Dials(); got != 3 {
		t.Errorf("dials after restart = %d, want 3", got)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Run(context.Background(), f.srv.Addr(), "true", nil); err == nil {
		t.Fatal("closed pool still runs commands")
	}
}

// Through a bastion: the bastion and the real server each have their own host-key check, and
// the real server is reached only through the bastion.
func TestBastion(t *testing.T) {
	ns := sshtest.NewNetns(t)
	f := newFixture(t, sshtest.Options{}) // the bastion, on 127.0.0.1
	// The real server listens only inside a namespace the bastion reaches over the veth; it also
	// allows the test's key.
	target := sshtest.Start(t, sshtest.Options{Netns: ns.Name, ListenAddr: ns.NsAddr, AuthorizedKeys: []string{f.pubLine}})
	targetPin, _ := sshconn.ParsePublicKey(target.HostKeys[0])
	bastionPin, _ := sshconn.ParsePublicKey(f.srv.HostKeys[0])

	cfg := f.config()
	cfg.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "empty")}
	cfg.HostKey = targetPin
	cfg.Bastion = &sshconn.Bastion{Address: f.srv.Addr(), HostKey: bastionPin}
	pool := sshconn.NewPool(cfg)
	defer pool.Close()
	for i := 0; i < 3; i++ {
		res, err := pool.Run(context.Background(), target.Addr(), "cat /proc/net/dev | grep -c "+ns.NsIf, nil)
		if err != nil || strings.TrimSpace(string(res.Stdout)) != "1" {
			t.Fatalf("through the bastion: %v %+v", err, res)
		}
	}
	if pool.Dials() != 2 || f.srv.Connections() != 1 || target.Connections() != 1 {
		t.Errorf("dials %d, bastion connections %d, target connections %d; want 2, 1, 1", pool.Dials(), f.srv.Connections(), target.Connections())
	}
	if !strings.Contains(f.srv.Log(), "target "+ns.NsAddr+" port 22") {
		t.Errorf("bastion log shows no forwarding to %s:\n%s", ns.NsAddr, f.srv.Log())
	}
	if !strings.Contains(target.Log(), "Connection from "+ns.HostAddr) {
		t.Errorf("target log shows no connection from the bastion side:\n%s", target.Log())
	}

	// The bastion's own key is checked: a wrong pin is refused and names the bastion.
	cfg.Bastion = &sshconn.Bastion{Address: f.srv.Addr(), HostKey: targetPin}
	_, err := run(t, cfg, target.Addr(), "true")
	var changed *sshconn.ChangedHostKeyError
	if !errors.As(err, &changed) || changed.Address != f.srv.Addr() || !strings.Contains(err.Error(), "bastion") {
		t.Fatalf("want the bastion's key refused, got %v", err)
	}
	// Unknown bastion (no pin, empty known_hosts) is refused too.
	cfg.Bastion = &sshconn.Bastion{Address: f.srv.Addr()}
	_, err = run(t, cfg, target.Addr(), "true")
	var unknown *sshconn.UnknownHostKeyError
	if !errors.As(err, &unknown) || unknown.Address != f.srv.Addr() {
		t.Fatalf("want the bastion's unknown key refused, got %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	sshtest.Require(t)
	// A host that accepts TCP but never speaks SSH.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	f := newFixture(t, sshtest.Options{})
	cfg := f.config()
	cfg.Timeout = 700 * time.Millisecond
	start := time.Now()
	_, err = run(t, cfg, l.Addr().String(), "true")
	if err == nil || !strings.Contains(err.Error(), "no answer within 700ms") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("silent host: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("silent host took %s", d)
	}

	// A command that runs past the timeout is cut off and reported as a lost connection.
	start = time.Now()
	_, err = run(t, cfg, f.srv.Addr(), "sleep 30")
	var lost *sshconn.ConnectionLostError
	if !errors.As(err, &lost) {
		t.Fatalf("long command: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("long command took %s", d)
	}
}

func TestHostPort(t *testing.T) {
	for _, c := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{in: "rs1", host: "rs1", port: 2222},
		{in: "rs1.example.com:22", host: "rs1.example.com", port: 22},
		{in: "192.0.2.1", host: "192.0.2.1", port: 2222},
		{in: "[2001:db8::1]:2200", host: "2001:db8::1", port: 2200},
		{in: "[2001:db8::1]", host: "2001:db8::1", port: 2222},
		{in: "2001:db8::1", host: "2001:db8::1", port: 2222},
		{in: "", bad: true},
		{in: "rs1:0", bad: true},
		{in: "rs1:99999", bad: true},
		{in: "[rs1]:22", bad: true},
		{in: "rs1;reboot", bad: true},
		{in: "$(id)", bad: true},
		{in: "a b", bad: true},
		{in: "-oProxyCommand=x", bad: true},
	} {
		h, p, err := sshconn.HostPort(c.in, 2222)
		if c.bad != (err != nil) || (!c.bad && (h != c.host || p != c.port)) {
			t.Errorf("HostPort(%q) = %q, %d, %v", c.in, h, p, err)
		}
	}
}

// A server with MaxSessions 1 refuses a second concurrent session: the pool waits for a free one
// on the same connection instead of failing or dropping the connection.
func TestPoolLowMaxSessions(t *testing.T) {
	f := newFixture(t, sshtest.Options{Extra: []string{"MaxSessions 1"}})
	pool := sshconn.NewPool(f.config())
	defer pool.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := pool.Run(context.Background(), f.srv.Addr(), "sleep 0.2; echo ok", nil)
			if err == nil && string(res.Stdout) != "ok\n" {
				err = errors.New("output " + string(res.Stdout))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if pool.Dials() != 1 || f.srv.Connections() != 1 {
		t.Errorf("dials %d, connections %d; want 1", pool.Dials(), f.srv.Connections())
	}
}

// TestPoolBatch: calls that arrive while a batched run is in flight on the host share the next
// run, each learns its index in it; a caller that gives up returns at once without hurting the
// others.
func TestPoolBatch(t *testing.T) {
	f := newFixture(t, sshtest.Options{})
	pool := sshconn.NewPool(f.config())
	defer pool.Close()
	// The program echoes its request after a pause, so that later calls queue behind it.
	const program = "sleep 0.3; cat"
	encode := func(items [][]byte) ([]byte, error) { return bytes.Join(items, []byte(",")), nil }
	ctx := context.Background()
	if _, _, err := pool.Batch(ctx, f.srv.Addr(), program, []byte("warm"), encode); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(f.srv.Log(), "ctype session")

	const n = 20
	type answer struct {
		out string
		idx int
		err error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, idx, err := pool.Batch(ctx, f.srv.Addr(), program, []byte("item"+strconv.Itoa(i)), encode)
			if err == nil {
				answers[i] = answer{out: string(res.Stdout), idx: idx}
			} else {
				answers[i].err = err
			}
		}()
		if i == 0 {
			time.Sleep(50 * time.Millisecond) // the first one leads a run alone
		}
	}
	// A caller that gives up while queued returns its context's error at once.
	gone, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, _, err := pool.Batch(gone, f.srv.Host+":"+strconv.Itoa(f.srv.Port), program, []byte("gone"), encode); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a caller that gave up got %v", err)
	}
	wg.Wait()
	for i, a := range answers {
		items := strings.Split(a.out, ",")
		if slices.Contains(items, "gone") {
			t.Errorf("the item of a caller that gave up was sent: %q", a.out)
		}
		if a.err != nil || a.idx < 0 || a.idx >= len(items) || items[a.idx] != "item"+strconv.Itoa(i) {
			t.Errorf("call %d: answer %q, index %d, %v", i, a.out, a.idx, a.err)
		}
	}
	sessions := strings.Count(f.srv.Log(), "ctype session") - before
	t.Logf("%d calls in %d sessions", n+1, sessions)
	if sessions < 2 || sessions > 4 {
		t.Errorf("%d calls took %d sessions; want the first alone, then the rest coalesced", n+1, sessions)
	}
	if pool.Dials() != 1 {
		t.Errorf("%d dials", pool.Dials())
	}
}

// A host that prints without end (here 300 MB on stdout, then on stderr) gets a clear error naming
// it once the provider has read its cap, and the provider's memory stays near the cap.
func TestRunOutputIsBounded(t *testing.T) {
	f := newFixture(t, sshtest.Options{})
	addr := f.srv.Addr()
	for _, stream := range []string{"stdout", "stderr"} {
		t.Run(stream, func(t *testing.T) {
			redirect := ""
			if stream == "stderr" {
				redirect = " >&2"
			}
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			// A flood far larger than any bound below: a reader that kept it would allocate at
			// least its 1 GB. What a capped reader allocates past the cap depends on how much is in
			// flight when the session closes, which grows with load (137 MB seen once on a busy host).
			_, err := run(t, f.config(), addr, "head -c 1000000000 /dev/zero"+redirect)
			var tooMuch *sshconn.OutputTooLargeError
			if !errors.As(err, &tooMuch) || tooMuch.Stream != stream {
				t.Fatalf("want OutputTooLargeError on %s, got %v", stream, err)
			}
			if !strings.Contains(err.Error(), addr) {
				t.Errorf("error does not name the host: %v", err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			grew := after.TotalAlloc - before.TotalAlloc
			if grew > 8*sshconn.MaxStdout {
				t.Errorf("allocated %d MB reading a flood capped at %d MB", grew>>20, sshconn.MaxStdout>>20)
			}
			t.Logf("%s flood stopped after %s, %d MB allocated: %v", stream, time.Since(start).Round(time.Millisecond), grew>>20, err)
		})
	}
}

// Host certificates: known_hosts trusts a CA (@cert-authority), and a real sshd presents a host
// certificate it signed (HostCertificate). The CA is RSA and the host keys Ed25519, as the CA's
// type says nothing about the keys it signs. Both a host that offers only its certificate
// (HostKeyAlgorithms) and one that offers the certificate and the plain key are accepted; a
// certificate signed by another CA, and a host with no certificate, are refused.
func TestHostCertificates(t *testing.T) {
	sshtest.Require(t)
	dir := t.TempDir()
	ca, caPub := sshtest.KeyGen(t, dir, "host_ca", "rsa", "")
	other, _ := sshtest.KeyGen(t, dir, "other_ca", "ed25519", "")
	trustCA := func(t *testing.T, f *fixture, pattern string) sshconn.Config {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		sshtest.WriteFile(t, kh, "@cert-authority "+pattern+" "+sshtest.ReadFile(t, caPub), 0o600)
		cfg := f.config()
		cfg.KnownHostsFiles = []string{kh}
		return cfg
	}
	for _, tc := range []struct {
		name  string
		opts  sshtest.Options
		want  string // "" to connect, else a part of the error
		match string // the known_hosts host pattern, %d for the port; default [127.0.0.1]:port
	}{
		{name: "certificate only", opts: sshtest.Options{HostCA: ca, Extra: []string{"HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com"}}},
		{name: "certificate and plain key", opts: sshtest.Options{HostCA: ca}},
		{name: "certificate and plain key, wildcard pattern", opts: sshtest.Options{HostCA: ca}, match: "[127.0.0.*]:%d"},
		{name: "signed by another CA", opts: sshtest.Options{HostCA: other, Extra: []string{"HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com"}}, want: "authorit"},
		{name: "no certificate", opts: sshtest.Options{}, want: "HostCertificate"},
		{name: "certificate for another name", opts: sshtest.Options{HostCA: ca, HostCertPrincipals: []string{"rs9.example.net"}}, want: "principal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			pattern := "[127.0.0.1]:" + strconv.Itoa(f.srv.Port)
			if tc.match != "" {
				pattern = fmt.Sprintf(tc.match, f.srv.Port)
			}
			_, err := run(t, trustCA(t, f, pattern), f.srv.Addr(), "true")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
			if err != nil {
				t.Log(err)
			}
		})
	}
}
