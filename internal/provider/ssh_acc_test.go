package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

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

// TestSSHAccHostKeyAndSecrets runs Terraform against a real sshd on this machine: an unknown
// host key is refused with its fingerprint; with the key in a hashed known_hosts the helper runs
// on the host (whose kernel has no dummy driver here, so the create fails there with a message
// naming the host — the lab runs the full lifecycle); neither the private key nor the password
// appear in the TF_LOG=trace output.
func TestSSHAccHostKeyAndSecrets(t *testing.T) {
	if lab.Inside() {
		t.Skip("host-side test")
	}
	s := newSSHSite(t)
	logPath := filepath.Join(t.TempDir(), "terraform-trace.log")
	t.Setenv("TF_ACC_LOG", "TRACE")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logPath)
	const password = "pw-Acc-Secret-4711"
	t.Setenv("VIP_SSH_PASSWORD", password)

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

	trace, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(trace), "SSH transport configured") {
		t.Fatalf("the trace log (%d bytes) has no provider log lines; the check below would prove nothing", len(trace))
	}
	for what, secret := range map[string]string{"password": password, "private key": s.keyBody} {
		if strings.Contains(string(trace), secret) {
			t.Errorf("the %s appears in the TF_LOG=trace output", what)
		}
	}
	t.Logf("trace log: %d bytes, no secret in it", len(trace))
}

// TestKernelLabSSHAcc runs TestSSHLabAcc* inside the kernel lab, whose kernel has the dummy
// driver: Terraform and the provider in the guest, sshd in a network namespace of the guest
// reached over a veth pair. Each Terraform command starts the provider afresh, so it opens one
// SSH connection (7-10 s in the emulated guest): the steps are few on purpose.
//
//	go test ./internal/provider -run KernelLabSSHAcc -v
func TestKernelLabSSHAcc(t *testing.T) {
	lab.RunTestsInside(t, "^TestSSHLabAcc")
}

// TestSSHLabAccLifecycle: create over SSH, empty plan, drift shown and repaired, sshd down (a
// clear error naming the host) then back (the remaining difference applied), import by
// <host>/<name>, destroy.
func TestSSHLabAccLifecycle(t *testing.T) {
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
			{ // create; the framework's follow-up plan must be empty
				Config: s.config(s.knownKH, two),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("id"), knownvalue.StringExact(addr+"/vip0")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("host"), knownvalue.StringExact(addr)),
				},
				Check: hasExactly("192.0.2.1/32", "2001:db8::1/128"),
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
