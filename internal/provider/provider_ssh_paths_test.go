package provider

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
)

func pathsOn(goos string, env map[string]string) sshconn.Paths {
	return sshconn.Paths{GOOS: goos, Getenv: func(k string) string { return env[k] }}
}

// The ssh block's defaults as each system's OpenSSH has them, with the system and environment
// injected.
func TestSSHConfigPerSystemDefaults(t *testing.T) {
	clearSSHEnv(t)
	ctx := context.Background()
	windows := pathsOn("windows", map[string]string{"USERPROFILE": `C:\Users\ops`})

	d, diags := newProviderDataOn(ctx, vipProviderModel{}, windows)
	if diags.HasError() {
		t.Fatal(diags)
	}
	c := d.pool.Config()
	if c.KnownHostsFiles[0] != `C:\Users\ops\.ssh\known_hosts` {
		t.Errorf("windows known_hosts default %q", c.KnownHostsFiles[0])
	}
	if c.AgentSocket != sshconn.WindowsAgentPipe || !c.AgentOptional {
		t.Errorf("windows agent default %q optional=%v; want OpenSSH's pipe, skipped when not running", c.AgentSocket, c.AgentOptional)
	}
	d, _ = newProviderDataOn(ctx, vipProviderModel{SSH: &sshModel{Agent: types.BoolValue(true)}}, windows)
	if c := d.pool.Config(); c.AgentSocket != sshconn.WindowsAgentPipe || c.AgentOptional {
		t.Errorf("windows agent = true: %q optional=%v; want the pipe, required", c.AgentSocket, c.AgentOptional)
	}
	d, _ = newProviderDataOn(ctx, vipProviderModel{SSH: &sshModel{Agent: types.BoolValue(false)}}, windows)
	if c := d.pool.Config(); c.AgentSocket != "" {
		t.Errorf("windows agent = false: %q", c.AgentSocket)
	}

	// Elsewhere no agent without SSH_AUTH_SOCK, and ~ is $HOME.
	priv, _ := keygen(t, "")
	darwin := pathsOn("darwin", map[string]string{"HOME": filepath.Dir(priv)})
	d, diags = newProviderDataOn(ctx, vipProviderModel{SSH: &sshModel{
		PrivateKeyFile: types.StringValue("~/" + filepath.Base(priv)),
		KnownHostsFile: types.StringValue("~/kh"),
	}}, darwin)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if c := d.pool.Config(); len(c.Signers) != 1 || c.AgentSocket != "" || c.KnownHostsFiles[0] != filepath.Join(filepath.Dir(priv), "kh") {
		t.Errorf("darwin: %d keys, agent %q, known_hosts %q", len(c.Signers), c.AgentSocket, c.KnownHostsFiles[0])
	}

	// No home directory: a ~ path is an error at its attribute; the default known_hosts stays
	// unexpanded (a file that does not exist: every host key is unknown, none accepted).
	noHome := pathsOn("linux", nil)
	_, diags = newProviderDataOn(ctx, vipProviderModel{SSH: &sshModel{PrivateKeyFile: types.StringValue("~/.ssh/id_ed25519")}}, noHome)
	if !hasAttrError(diags, sshPath("private_key_file"), "HOME is not set") {
		t.Errorf("~ without HOME: %v", diags)
	}
	_, diags = newProviderDataOn(ctx, vipProviderModel{SSH: &sshModel{KnownHostsFile: types.StringValue("~/.ssh/kh")}}, pathsOn("windows", nil))
	if !hasAttrError(diags, sshPath("known_hosts_file"), "USERPROFILE is not set") {
		t.Errorf("~ without USERPROFILE: %v", diags)
	}
	d, diags = newProviderDataOn(ctx, vipProviderModel{}, noHome)
	if diags.HasError() || d.pool.Config().KnownHostsFiles[0] != "~/.ssh/known_hosts" {
		t.Errorf("default known_hosts without HOME: %v %v", d, diags)
	}
}
