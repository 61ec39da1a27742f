//go:build linux

package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// sshSite is a real sshd in a network namespace reached over a veth pair, a client key it
// accepts, and known_hosts files: empty, and one that trusts the server (hashed, as
// `ssh-keygen -H` writes it).
type sshSite struct {
	ns          *sshtest.Netns
	srv         *sshtest.Server
	keyFile     string
	keyBody     string // a line from the middle of the private key, to look for in logs
	emptyKH     string
	knownKH     string
	fingerprint string
}

func newSSHSite(t *testing.T) *sshSite {
	t.Helper()
	sshtest.Require(t)
	dir := t.TempDir()
	priv, pub := sshtest.KeyGen(t, dir, "client", "ed25519", "")
	s := &sshSite{ns: sshtest.NewNetns(t), keyFile: priv}
	s.srv = sshtest.Start(t, sshtest.Options{Netns: s.ns.Name, ListenAddr: s.ns.NsAddr,
		AuthorizedKeys: []string{strings.TrimSpace(sshtest.ReadFile(t, pub))}})
	lines := strings.Split(strings.TrimSpace(sshtest.ReadFile(t, priv)), "\n")
	s.keyBody = lines[len(lines)/2]
	s.emptyKH = filepath.Join(dir, "known_hosts_empty")
	sshtest.WriteFile(t, s.emptyKH, "", 0o600)
	s.knownKH = filepath.Join(dir, "known_hosts")
	sshtest.WriteFile(t, s.knownKH, s.ns.NsAddr+" "+s.srv.HostKeys[0]+"\n", 0o600)
	sshtest.Run(t, "ssh-keygen", "-q", "-H", "-f", s.knownKH)
	s.fingerprint = strings.Fields(sshtest.Run(t, "ssh-keygen", "-lf", filepath.Join(s.srv.Dir, "host_ed25519.pub")))[1]
	return s
}

// config is a provider configuration with the key inline (through file()), so that the key's
// text flows through Terraform as a sensitive value, and one vip_dummy_interface on the site.
func (s *sshSite) config(knownHosts, addresses string) string {
	return fmt.Sprintf(`
provider "vip" {
  ssh = {
    user             = "root"
    private_key      = file(%q)
    known_hosts_file = %q
    timeout          = "60s"
  }
}

resource "vip_dummy_interface" "rs" {
  host      = %q
  name      = "vip0"
  addresses = [%s]
}
`, s.keyFile, knownHosts, s.ns.NsAddr, addresses)
}

// TestAccSSHHostKeyAndSecrets runs Terraform against a real sshd on this machine: an unknown
// host key is refused with its fingerprint; with the key in a hashed known_hosts the helper runs
// on the host (whose kernel has no dummy driver here, so the create fails there with a message
// naming the host — the lab runs the full lifecycle); neither the private key nor the password
// appear in the TF_LOG=trace output.
func TestAccSSHHostKeyAndSecrets(t *testing.T) {
	if lab.Inside() {
		t.Skip("host-side test")
	}
	s := newSSHSite(t)
	logPath, password := traceWithSecrets(t)

	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      s.config(s.emptyKH, `"192.0.2.1"`),
				ExpectError: regexp.MustCompile(`(?s)host key of\s+` + regexp.QuoteMeta(s.ns.NsAddr) + `:22\s+is\s+unknown.*` + regexp.QuoteMeta(s.fingerprint)),
			},
			{
				Config:      s.config(s.knownKH, `"192.0.2.1"`),
				ExpectError: regexp.MustCompile(`(?s)on\s+` + regexp.QuoteMeta(s.ns.NsAddr) + `.*(Unknown device type|no\s+dummy\s+driver)`),
			},
		},
	})

	checkTraceHasNoSecrets(t, logPath, map[string]string{"password": password, "private key": s.keyBody})
}

// traceWithSecrets turns on TRACE logs of Terraform and the provider into a file, and configures
// an SSH password besides the key; it returns the log's path and the password.
func traceWithSecrets(t *testing.T) (logPath, password string) {
	t.Helper()
	logPath = filepath.Join(t.TempDir(), "terraform-trace.log")
	t.Setenv("TF_ACC_LOG", "TRACE")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logPath)
	password = "pw-Acc-Secret-4711"
	t.Setenv("VIP_SSH_PASSWORD", password)
	return logPath, password
}

// checkTraceHasNoSecrets fails t if the trace log at logPath holds any of secrets, or holds no
// provider log line at all (then the check would prove nothing).
func checkTraceHasNoSecrets(t *testing.T, logPath string, secrets map[string]string) {
	t.Helper()
	trace, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(trace), "SSH transport configured") {
		t.Fatalf("the trace log (%d bytes) has no provider log lines; the check below would prove nothing", len(trace))
	}
	for what, secret := range secrets {
		if strings.Contains(string(trace), secret) {
			t.Errorf("the %s appears in the TF_LOG=trace output", what)
		}
	}
	t.Logf("trace log: %d bytes, no secret in it", len(trace))
}

// TestAccSSHLabNoSecretsInTrace: a create over SSH in the lab with TF_LOG=trace, the private key
// inline and a password configured: neither appears in the log, nor in state.
func TestAccSSHLabNoSecretsInTrace(t *testing.T) {
	lab.Require(t, "TestKernelLabSSHAcc")
	s := newSSHSite(t)
	logPath, password := traceWithSecrets(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: s.config(s.knownKH, `"192.0.2.1"`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vip_dummy_interface.rs", tfjsonpath.New("id"), knownvalue.StringExact(s.ns.NsAddr+"/vip0")),
			},
		}},
	})
	checkTraceHasNoSecrets(t, logPath, map[string]string{"password": password, "private key": s.keyBody})
}

// TestKernelLabSSHAcc runs TestAccSSHLab* inside the kernel lab, whose kernel has the dummy
// driver: Terraform and the provider in the guest, sshd in a network namespace of the guest
// reached over a veth pair. Each Terraform command starts the provider afresh, so it opens one
// SSH connection (7-10 s in the emulated guest): the steps are few on purpose.
//
//	go test ./internal/provider -run KernelLabSSHAcc -v
func TestKernelLabSSHAcc(t *testing.T) {
	lab.RunTestsInside(t, "^TestAccSSHLab")
}

// TestAccSSHLabLifecycle: unknown host key refused, create over SSH (no key text in state),
// empty plan, drift shown and repaired, sshd down (a clear error naming the host) then back (the
// remaining difference applied), import by <host>/<name>, destroy.
func TestAccSSHLabLifecycle(t *testing.T) {
	lab.Require(t, "TestKernelLabSSHAcc")
	s := newSSHSite(t)
	addr := s.ns.NsAddr
	ip := func(args ...string) (string, error) {
		out, err := exec.Command("ip", append([]string{"-n", s.ns.Name}, args...)...).CombinedOutput()
		return string(out), err
	}
	hasExactly := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out, err := ip("-o", "addr", "show", "dev", "vip0")
			if err != nil {
				return fmt.Errorf("ip addr show vip0: %v: %s", err, out)
			}
			n := strings.Count(out, "\n")
			for _, w := range want {
				if !strings.Contains(out, " "+w+" ") {
					return fmt.Errorf("vip0 lacks %s:\n%s", w, out)
				}
			}
			if n != len(want) {
				return fmt.Errorf("vip0 has %d addresses, want %d:\n%s", n, len(want), out)
			}
			return nil
		}
	}
	two := `"192.0.2.1", "2001:db8::1"`
	three := `"192.0.2.1", "192.0.2.2", "2001:db8::1"`
	res := "vip_dummy_interface.rs"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if out, err := ip("link", "show", "vip0"); err == nil {
				return fmt.Errorf("vip0 still exists after destroy: %s", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{ // a server whose host key is not in known_hosts: refused, with its fingerprint
				Config:      s.config(s.emptyKH, two),
				ExpectError: regexp.MustCompile(`(?s)host key of\s+` + regexp.QuoteMeta(addr) + `:22\s+is\s+unknown.*` + regexp.QuoteMeta(s.fingerprint)),
			},
			{ // create; the framework's follow-up plan must be empty
				PreConfig: func() {
					if out, err := ip("link", "show", "vip0"); err == nil {
						t.Fatalf("vip0 exists after the refused host key: %s", out)
					}
				},
				Config: s.config(s.knownKH, two),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("id"), knownvalue.StringExact(addr+"/vip0")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("host"), knownvalue.StringExact(addr)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					hasExactly("192.0.2.1/32", "2001:db8::1/128"),
					func(st *terraform.State) error { // the key went through Terraform; none of it is in state
						for name, r := range st.RootModule().Resources {
							for k, v := range r.Primary.Attributes {
								if strings.Contains(v, s.keyBody) {
									return fmt.Errorf("state of %s holds private key text in %s", name, k)
								}
							}
						}
						return nil
					},
				),
			},
			{ // drift on the real server: one address removed, a stranger added
				PreConfig: func() {
					for _, args := range [][]string{{"addr", "del", "192.0.2.1/32", "dev", "vip0"}, {"addr", "add", "198.51.100.9/32", "dev", "vip0"}} {
						if out, err := ip(args...); err != nil {
							t.Fatalf("ip %v: %v: %s", args, err, out)
						}
					}
				},
				Config: s.config(s.knownKH, two),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				Check: hasExactly("192.0.2.1/32", "2001:db8::1/128"),
			},
			{ // sshd down: a clear error that names the host, nothing changed
				PreConfig:   s.srv.Stop,
				Config:      s.config(s.knownKH, three),
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(addr) + `.*(refused|no answer)`),
			},
			{ // sshd back: the remaining difference is applied
				PreConfig: s.srv.Restart,
				Config:    s.config(s.knownKH, three),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				Check: hasExactly("192.0.2.1/32", "192.0.2.2/32", "2001:db8::1/128"),
			},
			{ // import by <host>/<name>
				ResourceName:      res,
				ImportState:       true,
				ImportStateId:     addr + "/vip0",
				ImportStateVerify: true,
				Config:            s.config(s.knownKH, three),
			},
		},
	})
	t.Logf("sshd accepted %d connection(s) since its last restart", s.srv.Connections())
}

// startAgent runs an ssh-agent holding the private key keyFile until the test ends and points
// SSH_AUTH_SOCK at it.
func startAgent(t *testing.T, keyFile string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not create its socket within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", keyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
}

// TestAccSSHLabBastionSudoAgent: the real server's sshd accepts the client's key only from the
// bastion's address (an authorized_keys from= option), so every step proves the hop; the key is
// held by an ssh-agent, never named in the configuration. Steps: create as root through the
// bastion; as a non-root user whose sudo needs a password, a clear error and no change; once
// sudoers says NOPASSWD, the same apply goes through sudo; destroy.
func TestAccSSHLabBastionSudoAgent(t *testing.T) {
	lab.Require(t, "TestKernelLabSSHAcc")
	lab.PrivateEtc(t) // the user and sudoers rule below stay in the guest
	dir := t.TempDir()
	priv, pub := sshtest.KeyGen(t, dir, "client", "ed25519", "")
	pubLine := strings.TrimSpace(sshtest.ReadFile(t, pub))
	startAgent(t, priv)

	// The bastion and the real server each in their own namespace; the guest routes between them.
	bns, tns := sshtest.NewNetns(t), sshtest.NewNetns(t)
	sshtest.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	bns.Exec(t, "ip", "route", "add", "default", "via", bns.HostAddr)
	tns.Exec(t, "ip", "route", "add", "default", "via", tns.HostAddr)
	bastion := sshtest.Start(t, sshtest.Options{Netns: bns.Name, ListenAddr: bns.NsAddr, AuthorizedKeys: []string{pubLine}})
	server := sshtest.Start(t, sshtest.Options{Netns: tns.Name, ListenAddr: tns.NsAddr,
		AuthorizedKeys: []string{fmt.Sprintf("from=%q %s", bns.NsAddr, pubLine)}})
	kh := filepath.Join(dir, "known_hosts")
	sshtest.WriteFile(t, kh, bns.NsAddr+" "+bastion.HostKeys[0]+"\n"+tns.NsAddr+" "+server.HostKeys[0]+"\n", 0o600)

	sudoer := sshtest.AddUser(t, "pw-Lab-Sudo-1")
	sshtest.AllowSudo(t, sudoer, false)

	config := func(user string, sudo bool, addresses string) string {
		return fmt.Sprintf(`
provider "vip" {
  ssh = {
    user             = %q
    sudo             = %t
    known_hosts_file = %q
    timeout          = "60s"
    bastion = {
      host = %q
      user = "root"
    }
  }
}

resource "vip_dummy_interface" "rs" {
  host      = %q
  name      = "vip1"
  addresses = [%s]
}
`, user, sudo, kh, bns.NsAddr, tns.NsAddr, addresses)
	}
	addrs := func() string {
		out, err := exec.Command("ip", "-n", tns.Name, "-o", "addr", "show", "dev", "vip1").CombinedOutput()
		if err != nil {
			return "(no vip1: " + strings.TrimSpace(string(out)) + ")"
		}
		return string(out)
	}
	holds := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out := addrs()
			for _, w := range want {
				if !strings.Contains(out, " "+w+" ") {
					return fmt.Errorf("vip1 lacks %s:\n%s", w, out)
				}
			}
			if n := strings.Count(out, "\n"); n != len(want) {
				return fmt.Errorf("vip1 has %d addresses, want %d:\n%s", n, len(want), out)
			}
			return nil
		}
	}
	logShows := func(srv *sshtest.Server, what string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if !strings.Contains(srv.Log(), what) {
				return fmt.Errorf("sshd log lacks %q:\n%s", what, srv.Log())
			}
			return nil
		}
	}
	res := "vip_dummy_interface.rs"
	one, two := `"192.0.2.10"`, `"192.0.2.10", "192.0.2.11"`
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if out := addrs(); !strings.HasPrefix(out, "(no vip1") {
				return fmt.Errorf("vip1 still exists after destroy: %s", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{ // root, key from the agent, through the bastion
				Config: config("root", false, one),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("id"), knownvalue.StringExact(tns.NsAddr+"/vip1")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					holds("192.0.2.10/32"),
					logShows(bastion, "target "+tns.NsAddr+" port 22"),
					logShows(server, "Connection from "+bns.NsAddr),
					logShows(server, "Accepted publickey for root"),
				),
			},
			{ // a non-root user whose sudo wants a password: refused with what to do, nothing changed
				Config:      config(sudoer, true, two),
				ExpectError: regexp.MustCompile(`(?s)sudo on\s+` + regexp.QuoteMeta(tns.NsAddr) + `.*without\s+a\s+password.*NOPASSWD`),
			},
			{ // NOPASSWD: the same change goes through sudo
				PreConfig: func() {
					if err := holds("192.0.2.10/32")(nil); err != nil {
						t.Fatalf("after the refused sudo: %v", err)
					}
					sshtest.AllowSudo(t, sudoer, true)
				},
				Config: config(sudoer, true, two),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					holds("192.0.2.10/32", "192.0.2.11/32"),
					logShows(server, "Accepted publickey for "+sudoer),
				),
			},
		},
	})
}

// TestAccSSHLabKilledMidApply: sshd (with the session's helper and ip) is killed while an apply
// adds 999 addresses (killed from a netlink watch of the server's namespace, after the first
// ten). The apply fails with an error naming the host; once sshd is back, the host holds only
// addresses the configuration wants, the next plan is an update of the rest, and its apply
// completes the set of 1,000.
func TestAccSSHLabKilledMidApply(t *testing.T) {
	lab.Require(t, "TestKernelLabSSHAcc")
	s := newSSHSite(t)
	addr := s.ns.NsAddr
	count := func() int {
		out, err := exec.Command("ip", "-n", s.ns.Name, "-o", "addr", "show", "dev", "vip2").Output()
		if err != nil {
			return -1
		}
		return strings.Count(string(out), "\n")
	}
	config := func(n int) string {
		return strings.Replace(s.config(s.knownKH, fmt.Sprintf( // range() makes at most 1,024 values
			`for x in flatten([for j in range(%d) : [for i in range(1000) : j * 1000 + i + 1]]) : cidrhost("10.99.0.0/16", x) if x <= %d`,
			(n+999)/1000, n)),
			`name      = "vip0"
  addresses = [`, `name      = "vip2"
  addresses = [`, 1)
	}
	stopped := make(chan struct{})
	res := "vip_dummy_interface.rs"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config(1), Check: func(*terraform.State) error {
				if n := count(); n != 1 {
					return fmt.Errorf("vip2 has %d addresses, want 1", n)
				}
				return nil
			}},
			{ // sshd dies in the middle of the `ip -batch` that adds 999 addresses
				PreConfig: func() {
					// Netlink events, not polling with ip: the kill must land while the batch runs.
					ns, err := netns.GetFromName(s.ns.Name)
					if err != nil {
						t.Fatal(err)
					}
					updates, done := make(chan netlink.AddrUpdate, 4096), make(chan struct{})
					if err := netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{Namespace: &ns}); err != nil {
						t.Fatal(err)
					}
					go func() {
						defer close(stopped)
						defer close(done)
						defer func() { _ = ns.Close() }()
						timeout := time.After(10 * time.Minute)
						for added := 0; added < 10; {
							select {
							case u := <-updates:
								if u.NewAddr && strings.HasPrefix(u.LinkAddress.String(), "10.99.") {
									added++
								}
							case <-timeout:
								t.Error("no address was added within 10 minutes")
								return
							}
						}
						s.srv.Stop()
						t.Logf("sshd killed with %d addresses on vip2", count())
					}()
				},
				Config:      config(1000),
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(addr)),
			},
			{ // sshd back: only wanted addresses on the host, and the next plan updates the rest
				PreConfig: func() {
					<-stopped
					s.srv.Restart()
					n := count()
					t.Logf("after the kill: %d of 1000 addresses on vip2", n)
					if n < 1 || n >= 1000 {
						t.Fatalf("vip2 has %d addresses after the kill; the test proves nothing unless the apply was cut short", n)
					}
					out, _ := exec.Command("ip", "-n", s.ns.Name, "-o", "-4", "addr", "show", "dev", "vip2").Output()
					for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
						if f := strings.Fields(line); len(f) < 4 || !strings.HasPrefix(f[3], "10.99.") || !strings.HasSuffix(f[3], "/32") {
							t.Errorf("unwanted address on vip2: %s", line)
						}
					}
				},
				Config: config(1000),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if n := count(); n != 1000 {
						return fmt.Errorf("vip2 has %d addresses after recovery, want 1000", n)
					}
					return nil
				},
			},
		},
	})
}
