package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

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
