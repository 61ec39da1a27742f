package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// sshModel is the provider's `ssh` block. Every attribute has an environment-variable default,
// applied in newProviderData.
type sshModel struct {
	User                  types.String  `tfsdk:"user"`
	Port                  types.Int64   `tfsdk:"port"`
	PrivateKey            types.String  `tfsdk:"private_key"`
	PrivateKeyFile        types.String  `tfsdk:"private_key_file"`
	PrivateKeyPassphrase  types.String  `tfsdk:"private_key_passphrase"`
	Certificate           types.String  `tfsdk:"certificate"`
	Password              types.String  `tfsdk:"password"`
	Agent                 types.Bool    `tfsdk:"agent"`
	KnownHostsFile        types.String  `tfsdk:"known_hosts_file"`
	HostKey               types.String  `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool    `tfsdk:"insecure_ignore_host_key"`
	Bastion               *bastionModel `tfsdk:"bastion"`
	Sudo                  types.Bool    `tfsdk:"sudo"`
	Timeout               types.String  `tfsdk:"timeout"`
}

// bastionModel is the jump host the provider reaches real servers through.
type bastionModel struct {
	Host    types.String `tfsdk:"host"`
	User    types.String `tfsdk:"user"`
	HostKey types.String `tfsdk:"host_key"`
}

func sshSchemaAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional:            true,
		MarkdownDescription: "How to reach real servers named by a resource's `host`. Unset attributes take their environment-variable defaults.",
		Attributes: map[string]schema.Attribute{
			"user":                     schema.StringAttribute{Optional: true, MarkdownDescription: "SSH user. Default: `$VIP_SSH_USER`, else the current user."},
			"port":                     schema.Int64Attribute{Optional: true, MarkdownDescription: "SSH port when `host` names none. Default: `$VIP_SSH_PORT`, else 22."},
			"private_key":              schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Private key (PEM or OpenSSH format). Default: `$VIP_SSH_PRIVATE_KEY`."},
			"private_key_file":         schema.StringAttribute{Optional: true, MarkdownDescription: "Path of a private key file. Default: `$VIP_SSH_PRIVATE_KEY_FILE`."},
			"private_key_passphrase":   schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Passphrase of the private key. Default: `$VIP_SSH_PRIVATE_KEY_PASSPHRASE`."},
			"certificate":              schema.StringAttribute{Optional: true, MarkdownDescription: "OpenSSH certificate for the private key. Default: `$VIP_SSH_CERTIFICATE`."},
			"password":                 schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Password. Default: `$VIP_SSH_PASSWORD`."},
			"agent":                    schema.BoolAttribute{Optional: true, MarkdownDescription: "Use the ssh-agent at `$SSH_AUTH_SOCK`. Default: `$VIP_SSH_AGENT`, else true when `SSH_AUTH_SOCK` is set."},
			"known_hosts_file":         schema.StringAttribute{Optional: true, MarkdownDescription: "known_hosts file that host keys are checked against. Default: `$VIP_SSH_KNOWN_HOSTS_FILE`, else `~/.ssh/known_hosts`."},
			"host_key":                 schema.StringAttribute{Optional: true, MarkdownDescription: "Pinned host public key (`ssh-ed25519 AAAA...`), instead of known_hosts. Default: `$VIP_SSH_HOST_KEY`."},
			"insecure_ignore_host_key": schema.BoolAttribute{Optional: true, MarkdownDescription: "Accept any host key. Never in production. Default: `$VIP_SSH_INSECURE_IGNORE_HOST_KEY`, else false."},
			"sudo":                     schema.BoolAttribute{Optional: true, MarkdownDescription: "Run the helper with `sudo -n`. Default: `$VIP_SSH_SUDO`, else false."},
			"timeout":                  schema.StringAttribute{Optional: true, MarkdownDescription: "Dial and command timeout, a Go duration. Default: `$VIP_SSH_TIMEOUT`, else `30s`."},
			"bastion": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Jump host that real servers are reached through. It uses the same credentials.",
				Attributes: map[string]schema.Attribute{
					"host":     schema.StringAttribute{Required: true, MarkdownDescription: "Bastion address: `host`, `host:port` or `[v6]:port`."},
					"user":     schema.StringAttribute{Optional: true, MarkdownDescription: "User on the bastion. Default: the `ssh.user`."},
					"host_key": schema.StringAttribute{Optional: true, MarkdownDescription: "Pinned host key of the bastion. Default: checked against `known_hosts_file`."},
				},
			},
		},
	}
}

// providerData is what Configure hands to resources and data sources.
type providerData struct {
	ssh *sshModel
	// dummyLocks serializes vip_dummy_interface changes per host (dummy_interface_locks.go).
	dummyLocks hostLocks
}

func newProviderData(_ context.Context, cfg vipProviderModel) (*providerData, diag.Diagnostics) {
	return &providerData{ssh: cfg.SSH}, nil
}
