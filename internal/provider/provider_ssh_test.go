package provider

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// clearSSHEnv unsets every VIP_SSH_* variable and SSH_AUTH_SOCK for the test.
func clearSSHEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VIP_SSH_") || k == "SSH_AUTH_SOCK" {
			t.Setenv(k, "")
			_ = os.Unsetenv(k)
		}
	}
}

// keygen makes an ed25519 key pair with ssh-keygen (openssh-client, which CI installs).
func keygen(t *testing.T, passphrase string) (priv, pub string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return p, p + ".pub"
}

func hasAttrError(diags diag.Diagnostics, p path.Path, substr string) bool {
	for _, d := range diags.Errors() {
		if wp, ok := d.(diag.DiagnosticWithPath); ok && wp.Path().Equal(p) && strings.Contains(d.Detail(), substr) {
			return true
		}
	}
	return false
}

func TestSSHConfigEnvDefaults(t *testing.T) {
	clearSSHEnv(t)
	priv, _ := keygen(t, "")
	_, hostPub := keygen(t, "")
	hk, _ := os.ReadFile(hostPub)
	t.Setenv("VIP_SSH_USER", "deploy")
	t.Setenv("VIP_SSH_PORT", "2222")
	t.Setenv("VIP_SSH_PRIVATE_KEY_FILE", priv)
	t.Setenv("VIP_SSH_HOST_KEY", string(hk))
	t.Setenv("VIP_SSH_SUDO", "true")
	t.Setenv("VIP_SSH_TIMEOUT", "5s")
	t.Setenv("VIP_SSH_BASTION_HOST", "[2001:db8::1]:2200")
	d, diags := newProviderData(context.Background(), vipProviderModel{})
	if diags.HasError() {
		t.Fatal(diags)
	}
	c := d.pool.Config()
	if c.User != "deploy" || c.Port != 2222 || len(c.Signers) != 1 || c.HostKey == nil || !c.Sudo || c.Timeout.String() != "5s" ||
		c.Bastion == nil || c.Bastion.Address != "[2001:db8::1]:2200" || c.AgentSocket != "" {
		t.Fatalf("config from environment: %+v", c)
	}
	// Attributes win over the environment.
	d, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{User: types.StringValue("root"), Sudo: types.BoolValue(false)}})
	if diags.HasError() || d.pool.Config().User != "root" || d.pool.Config().Sudo {
		t.Fatalf("attributes over environment: %+v %v", d.pool.Config(), diags)
	}
	// The agent is used by default exactly when SSH_AUTH_SOCK is set.
	t.Setenv("SSH_AUTH_SOCK", "/run/agent.sock")
	d, _ = newProviderData(context.Background(), vipProviderModel{})
	if d.pool.Config().AgentSocket != "/run/agent.sock" {
		t.Fatal("agent not used by default with SSH_AUTH_SOCK set")
	}
	d, _ = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{Agent: types.BoolValue(false)}})
	if d.pool.Config().AgentSocket != "" {
		t.Fatal("agent = false ignored")
	}
}

func TestSSHConfigErrors(t *testing.T) {
	clearSSHEnv(t)
	encPriv, _ := keygen(t, "right-passphrase")
	enc, _ := os.ReadFile(encPriv)

	// No ssh block, no environment: fine (only this machine is managed), no credentials needed yet.
	if _, diags := newProviderData(context.Background(), vipProviderModel{}); diags.HasError() {
		t.Fatal(diags)
	}

	_, diags := newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{PrivateKey: types.StringValue("not a key")}})
	if !hasAttrError(diags, sshPath("private_key"), "not a private key") {
		t.Errorf("bad key: %v", diags)
	}
	_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{PrivateKey: types.StringValue(string(enc))}})
	if !hasAttrError(diags, sshPath("private_key"), "private_key_passphrase") {
		t.Errorf("encrypted key without passphrase: %v", diags)
	}
	_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{PrivateKey: types.StringValue(string(enc)),
		PrivateKeyPassphrase: types.StringValue("wrong-passphrase")}})
	if !hasAttrError(diags, sshPath("private_key"), "passphrase is wrong") {
		t.Errorf("wrong passphrase: %v", diags)
	}
	for _, d := range diags {
		if strings.Contains(d.Detail()+d.Summary(), "wrong-passphrase") || strings.Contains(d.Detail(), "PRIVATE KEY") {
			t.Errorf("a diagnostic shows a secret: %s", d.Detail())
		}
	}
	_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{PrivateKeyFile: types.StringValue("/nonexistent/id")}})
	if !hasAttrError(diags, sshPath("private_key_file"), "no such file") {
		t.Errorf("missing key file: %v", diags)
	}
	_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{HostKey: types.StringValue("ssh-ed25519 garbage")}})
	if !hasAttrError(diags, sshPath("host_key"), "not a public key") {
		t.Errorf("bad host key: %v", diags)
	}
	_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{Timeout: types.StringValue("soon")}})
	if !hasAttrError(diags, sshPath("timeout"), "duration") {
		t.Errorf("bad timeout: %v", diags)
	}
	for _, bad := range []string{"vip-helper", "/usr/local/../bin/sh", "/usr/local/libexec/vip helper", "/usr/local/libexec/vip;id"} {
		_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{HelperPath: types.StringValue(bad)}})
		if !hasAttrError(diags, sshPath("helper_path"), "absolute path") {
			t.Errorf("helper_path %q: %v", bad, diags)
		}
	}
	d, diags := newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{HelperPath: types.StringValue("/usr/local/libexec/vip-helper")}})
	if diags.HasError() || d.helperPath != "/usr/local/libexec/vip-helper" {
		t.Errorf("good helper_path: %v", diags)
	}
	_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{Bastion: &bastionModel{Host: types.StringValue("a b")}}})
	if !hasAttrError(diags, sshPath("bastion").AtName("host"), "a b") {
		t.Errorf("bad bastion: %v", diags)
	}
	t.Setenv("VIP_SSH_SUDO", "maybe")
	_, diags = newProviderData(context.Background(), vipProviderModel{})
	if !hasAttrError(diags, sshPath("sudo"), "VIP_SSH_SUDO") {
		t.Errorf("bad env bool: %v", diags)
	}
	t.Setenv("VIP_SSH_SUDO", "")
	t.Setenv("VIP_SSH_CERTIFICATE", "ssh-ed25519-cert-v01@openssh.com AAAA")
	_, diags = newProviderData(context.Background(), vipProviderModel{})
	if !hasAttrError(diags, sshPath("certificate"), "no private key") {
		t.Errorf("certificate without key: %v", diags)
	}
}

func TestSSHConfigInsecureWarns(t *testing.T) {
	clearSSHEnv(t)
	d, diags := newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{InsecureIgnoreHostKey: types.BoolValue(true)}})
	if diags.HasError() || diags.WarningsCount() != 1 || !d.pool.Config().InsecureIgnoreHostKey {
		t.Fatalf("%v", diags)
	}
	_, hostPub := keygen(t, "")
	hk, _ := os.ReadFile(hostPub)
	_, diags = newProviderData(context.Background(), vipProviderModel{SSH: &sshModel{InsecureIgnoreHostKey: types.BoolValue(true), HostKey: types.StringValue(string(hk))}})
	if !diags.HasError() {
		t.Fatal("pin and insecure together accepted")
	}
}

// Key material read from ssh.private_key_file is masked in the provider's logs like an inline
// ssh.private_key: a log line that quotes it shows only the mask.
func TestSSHKeyFileMaskedInLogs(t *testing.T) {
	clearSSHEnv(t)
	priv, _ := keygen(t, "")
	keyText, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	d, diags := newProviderData(ctx, vipProviderModel{SSH: &sshModel{PrivateKeyFile: types.StringValue(priv)}})
	if diags.HasError() {
		t.Fatal(diags)
	}
	ctx = d.logContext(ctx)
	tflog.Info(ctx, "a careless line: "+string(keyText), map[string]any{"key": string(keyText)})
	body := strings.Split(strings.TrimSpace(string(keyText)), "\n")[1]
	if strings.Contains(logs.String(), body) {
		t.Fatalf("the key read from private_key_file is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "a careless line") {
		t.Fatalf("nothing was logged; the check proves nothing:\n%s", logs.String())
	}
}
