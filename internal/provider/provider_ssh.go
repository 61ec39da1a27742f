package provider

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/target/sshhost"
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
	HelperPath            types.String  `tfsdk:"helper_path"`
	Timeout               types.String  `tfsdk:"timeout"`
}

// bastionModel is the jump host the provider reaches real servers through.
type bastionModel struct {
	Host    types.String `tfsdk:"host"`
	User    types.String `tfsdk:"user"`
	HostKey types.String `tfsdk:"host_key"`
}

// The environment variables that default the `ssh` attributes.
const (
	envUser                  = "VIP_SSH_USER"
	envPort                  = "VIP_SSH_PORT"
	envPrivateKey            = "VIP_SSH_PRIVATE_KEY"
	envPrivateKeyFile        = "VIP_SSH_PRIVATE_KEY_FILE"
	envPrivateKeyPassphrase  = "VIP_SSH_PRIVATE_KEY_PASSPHRASE"
	envCertificate           = "VIP_SSH_CERTIFICATE"
	envPassword              = "VIP_SSH_PASSWORD"
	envAgent                 = "VIP_SSH_AGENT"
	envKnownHostsFile        = "VIP_SSH_KNOWN_HOSTS_FILE"
	envHostKey               = "VIP_SSH_HOST_KEY"
	envInsecureIgnoreHostKey = "VIP_SSH_INSECURE_IGNORE_HOST_KEY"
	envSudo                  = "VIP_SSH_SUDO"
	envHelperPath            = "VIP_SSH_HELPER_PATH"
	envTimeout               = "VIP_SSH_TIMEOUT"
	envBastionHost           = "VIP_SSH_BASTION_HOST"
	envBastionUser           = "VIP_SSH_BASTION_USER"
	envBastionHostKey        = "VIP_SSH_BASTION_HOST_KEY"
)

func sshSchemaAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "How to reach real servers named by a resource's `host`. Unset attributes take their environment-variable " +
			"defaults, so the block may be left out entirely. Host keys are always checked (known_hosts or `host_key`) unless " +
			"`insecure_ignore_host_key` is set. For different credentials per host, use provider aliases.",
		Attributes: map[string]schema.Attribute{
			"user": schema.StringAttribute{Optional: true,
				MarkdownDescription: "SSH user. Default: `$VIP_SSH_USER`, else the user running Terraform.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)}},
			"port": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "SSH port when a `host` names none. Default: `$VIP_SSH_PORT`, else 22.",
				Validators:          []validator.Int64{int64validator.Between(1, 65535)}},
			"private_key": schema.StringAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "Private key, PEM or OpenSSH format. Default: `$VIP_SSH_PRIVATE_KEY`.",
				Validators: []validator.String{stringvalidator.ConflictsWith(
					path.MatchRelative().AtParent().AtName("private_key_file"))}},
			"private_key_file": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Path of a private key file (`~` is expanded: `$HOME`, or `%USERPROFILE%` on Windows). If `<file>-cert.pub` exists and `certificate` is unset, " +
					"that certificate is used, as OpenSSH does. Default: `$VIP_SSH_PRIVATE_KEY_FILE`."},
			"private_key_passphrase": schema.StringAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "Passphrase of an encrypted private key. Default: `$VIP_SSH_PRIVATE_KEY_PASSPHRASE`."},
			"certificate": schema.StringAttribute{Optional: true,
				MarkdownDescription: "OpenSSH user certificate (the one line of `id_ed25519-cert.pub`) for the private key. Default: `$VIP_SSH_CERTIFICATE`."},
			"password": schema.StringAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "Password, for `password` and `keyboard-interactive` authentication, tried after keys. Default: `$VIP_SSH_PASSWORD`."},
			"agent": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Offer the keys of the ssh-agent at `$SSH_AUTH_SOCK`; on Windows, when it is not set, " +
					"of OpenSSH's agent service (the named pipe `\\\\.\\pipe\\openssh-ssh-agent`), which is skipped when it is not running unless `agent = true`. " +
					"Default: `$VIP_SSH_AGENT`, else true when `SSH_AUTH_SOCK` is set (on Windows: always)."},
			"known_hosts_file": schema.StringAttribute{Optional: true,
				MarkdownDescription: "known_hosts file that host keys are checked against (hashed entries and `[host]:port` entries included; " +
					"`~` is expanded). Default: `$VIP_SSH_KNOWN_HOSTS_FILE`, else `~/.ssh/known_hosts` (`%USERPROFILE%\\.ssh\\known_hosts` on Windows)."},
			"host_key": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Pinned host public key of the real servers (`ssh-ed25519 AAAA...`), checked instead of known_hosts. " +
					"Default: `$VIP_SSH_HOST_KEY`.",
				Validators: []validator.String{stringvalidator.ConflictsWith(
					path.MatchRelative().AtParent().AtName("insecure_ignore_host_key"))}},
			"insecure_ignore_host_key": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Accept any host key, which lets anyone in the network path impersonate the real servers. " +
					"For throwaway labs only; the provider warns. Default: `$VIP_SSH_INSECURE_IGNORE_HOST_KEY`, else false."},
			"sudo": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Run the helper with `sudo -n` (a password prompt is an error, never a hang). Without `helper_path` the " +
					"user needs NOPASSWD for `sh`, which is full root; with it, NOPASSWD for exactly the installed helper. " +
					"Default: `$VIP_SSH_SUDO`, else false."},
			"helper_path": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Absolute path of the helper installed on every real server (a root-owned copy of the provider's helper " +
					"program, see *Installing the helper*). The provider then runs `[sudo -n] <helper_path>` with no arguments instead of " +
					"sending the program to `sh -c`, so that a sudoers rule can allow exactly that file. The request still travels on " +
					"standard input. Default: `$VIP_SSH_HELPER_PATH`, else unset (the program is sent).",
				Validators: []validator.String{stringvalidator.RegexMatches(helperPathPattern,
					"must be an absolute path of letters, digits and /._+- (no .. component), such as /usr/local/libexec/vip-helper")}},
			"timeout": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Bound on connecting (TCP and SSH handshake) and on each helper run, a Go duration such as `30s`. " +
					"Default: `$VIP_SSH_TIMEOUT`, else `30s`.",
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`),
					"must be a Go duration such as 30s or 1m30s")}},
			"bastion": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Jump host that every real server is reached through (like `ssh -J`). It is authenticated with the same credentials.",
				Attributes: map[string]schema.Attribute{
					"host": schema.StringAttribute{Optional: true,
						MarkdownDescription: "Bastion address: `host`, `host:port` or `[v6]:port`. Default: `$VIP_SSH_BASTION_HOST`."},
					"user": schema.StringAttribute{Optional: true,
						MarkdownDescription: "User on the bastion. Default: `$VIP_SSH_BASTION_USER`, else `ssh.user`."},
					"host_key": schema.StringAttribute{Optional: true,
						MarkdownDescription: "Pinned host key of the bastion. Default: `$VIP_SSH_BASTION_HOST_KEY`, else checked against `known_hosts_file` " +
							"(never against `ssh.host_key`, which belongs to the real servers)."},
				},
			},
		},
	}
}

// providerData is what Configure hands to resources and data sources.
type providerData struct {
	// pool holds the one SSH connection per (host, user, port) that every resource of this
	// provider configuration shares; connections are opened on first use and end with the
	// provider process (Terraform stops it at the end of each command).
	pool *sshconn.Pool
	// secrets are the configured secret values, masked in every log line written through
	// logContext.
	secrets []string
	// dummyLocks serializes resources that share a host's ARP sysctls (see hostLocks).
	dummyLocks hostLocks
	// helperPath is ssh.helper_path: the helper installed on the real servers, "" to send it.
	helperPath string
	// interfaceClaims catches two resources that name one interface (see interfaceClaims).
	interfaceClaims interfaceClaims
	// snapshots lets the reads of one refresh share one observation per SSH host. Configure runs
	// once per Terraform graph walk, so a snapshot never outlives the plan that took it.
	snapshots *sshhost.Snapshots
}

// logContext returns ctx with the provider's secrets masked in tflog output.
func (d *providerData) logContext(ctx context.Context) context.Context {
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, "password", "private_key", "private_key_passphrase")
	if len(d.secrets) > 0 {
		ctx = tflog.MaskAllFieldValuesStrings(ctx, d.secrets...)
		ctx = tflog.MaskMessageStrings(ctx, d.secrets...)
	}
	return ctx
}

// sshPath is the path of an attribute of the ssh block, for diagnostics.
func sshPath(name string) path.Path { return path.Root("ssh").AtName(name) }

// stringSetting is a string attribute's value, else its environment variable, with where it came
// from (for messages).
func stringSetting(v types.String, env string) (value, source string) {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString(), ""
	}
	return os.Getenv(env), env
}

func boolSetting(v types.Bool, env string, def bool, diags *diag.Diagnostics, p path.Path) bool {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueBool()
	}
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		diags.AddAttributeError(p, "Invalid environment variable", fmt.Sprintf("%s=%q is not a boolean (true or false).", env, s))
		return def
	}
	return b
}

func from(source string) string {
	if source == "" {
		return ""
	}
	return " (from $" + source + ")"
}

// newProviderData resolves the ssh block with its environment defaults, parses keys and pins (so
// that a bad key is an error at the attribute, before any plan), and prepares the pool.
// Credentials are not required here: a configuration that manages only this machine needs none.
func newProviderData(ctx context.Context, cfg vipProviderModel) (*providerData, diag.Diagnostics) {
	return newProviderDataOn(ctx, cfg, sshconn.HostPaths())
}

// newProviderDataOn is newProviderData with the system's path and agent defaults given (tests
// pass another system's).
func newProviderDataOn(ctx context.Context, cfg vipProviderModel, paths sshconn.Paths) (*providerData, diag.Diagnostics) {
	var diags diag.Diagnostics
	m := cfg.SSH
	if m == nil {
		m = &sshModel{}
	}
	c := sshconn.Config{}
	d := &providerData{}

	if u, _ := stringSetting(m.User, envUser); u != "" {
		c.User = u
	} else if cur, err := user.Current(); err == nil {
		c.User = cur.Username
	} else {
		c.User = os.Getenv("USER")
	}

	if !m.Port.IsNull() && !m.Port.IsUnknown() {
		c.Port = int(m.Port.ValueInt64())
	} else if s := os.Getenv(envPort); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			diags.AddAttributeError(sshPath("port"), "Invalid environment variable", fmt.Sprintf("%s=%q is not a port number (1-65535).", envPort, s))
		}
		c.Port = p
	}

	timeout, src := stringSetting(m.Timeout, envTimeout)
	if timeout != "" {
		t, err := time.ParseDuration(timeout)
		if err != nil || t <= 0 {
			diags.AddAttributeError(sshPath("timeout"), "Invalid timeout", fmt.Sprintf("%q%s is not a positive Go duration such as 30s.", timeout, from(src)))
		}
		c.Timeout = t
	}

	// Keys. Secrets are remembered for log masking, never put in a message.
	passphrase, _ := stringSetting(m.PrivateKeyPassphrase, envPrivateKeyPassphrase)
	password, _ := stringSetting(m.Password, envPassword)
	key, keySrc := stringSetting(m.PrivateKey, envPrivateKey)
	keyFile, keyFileSrc := stringSetting(m.PrivateKeyFile, envPrivateKeyFile)
	cert, certSrc := stringSetting(m.Certificate, envCertificate)
	for _, s := range []string{passphrase, password, key} {
		if s != "" {
			d.secrets = append(d.secrets, s)
		}
	}
	ctx = d.logContext(ctx)
	keyName := "ssh.private_key" + from(keySrc)
	keyPath := sshPath("private_key")
	if key == "" && keyFile != "" {
		keyPath = sshPath("private_key_file")
		expanded, err := paths.ExpandHome(keyFile)
		if err != nil {
			diags.AddAttributeError(keyPath, "Cannot read the private key file", fmt.Sprintf("%v%s: set the home directory, or give an absolute path.", err, from(keyFileSrc)))
		}
		keyFile, keyName = expanded, expanded+from(keyFileSrc)
		b, err := os.ReadFile(keyFile)
		if err != nil && expanded != "" {
			diags.AddAttributeError(keyPath, "Cannot read the private key file", fmt.Sprintf("%v%s.", err, from(keyFileSrc)))
		}
		key = string(b)
		if key != "" {
			// Key material read from a file is as secret as ssh.private_key.
			d.secrets = append(d.secrets, key)
			ctx = d.logContext(ctx)
		}
		if cert == "" {
			if b, err := os.ReadFile(keyFile + "-cert.pub"); err == nil {
				cert, certSrc = string(b), keyFile+"-cert.pub"
			}
		}
	}
	if key != "" {
		signer, err := sshconn.ParseSigner(keyName, []byte(key), []byte(passphrase), []byte(cert))
		if err != nil {
			p := keyPath
			if strings.HasPrefix(err.Error(), "certificate") {
				p = sshPath("certificate")
			}
			diags.AddAttributeError(p, "Invalid SSH private key or certificate", err.Error()+from(certSrc)+".")
		} else {
			c.Signers = append(c.Signers, signer)
		}
	} else if cert != "" {
		diags.AddAttributeError(sshPath("certificate"), "Certificate without a private key",
			"ssh.certificate"+from(certSrc)+" is set but no private key is: set ssh.private_key or ssh.private_key_file.")
	}
	c.Password = password

	// The agent: $SSH_AUTH_SOCK, or on Windows OpenSSH's agent pipe, which is skipped when it
	// cannot be reached unless the agent was asked for.
	agentAddr, implicit := paths.Agent()
	agentAsked := !m.Agent.IsNull() || os.Getenv(envAgent) != ""
	if boolSetting(m.Agent, envAgent, agentAddr != "", &diags, sshPath("agent")) {
		if agentAddr == "" {
			diags.AddAttributeError(sshPath("agent"), "No ssh-agent", "ssh.agent is true but SSH_AUTH_SOCK is not set: start an ssh-agent, or set agent = false.")
		}
		c.AgentSocket = agentAddr
		c.AgentOptional = implicit && !agentAsked
	}

	// Host keys.
	c.InsecureIgnoreHostKey = boolSetting(m.InsecureIgnoreHostKey, envInsecureIgnoreHostKey, false, &diags, sshPath("insecure_ignore_host_key"))
	if hk, src := stringSetting(m.HostKey, envHostKey); hk != "" {
		pub, err := sshconn.ParsePublicKey(hk)
		if err != nil {
			diags.AddAttributeError(sshPath("host_key"), "Invalid host key", "ssh.host_key"+from(src)+": "+err.Error())
		}
		c.HostKey = pub
		if c.InsecureIgnoreHostKey {
			diags.AddAttributeError(sshPath("insecure_ignore_host_key"), "Conflicting host-key settings",
				"ssh.host_key pins a key and insecure_ignore_host_key accepts any: set only one (check "+envHostKey+" and "+envInsecureIgnoreHostKey+").")
		}
	}
	if c.InsecureIgnoreHostKey {
		diags.AddAttributeWarning(sshPath("insecure_ignore_host_key"), "Host keys are not checked",
			"ssh.insecure_ignore_host_key is true: any machine in the network path can impersonate the real servers and receive the credentials. "+
				"Use known_hosts or host_key outside throwaway labs.")
	}
	kh, khSrc := stringSetting(m.KnownHostsFile, envKnownHostsFile)
	if kh == "" {
		// Without a home directory there is no default file: host keys are then unknown (an
		// error naming this path at connection), never accepted.
		if def, err := paths.KnownHostsFile(); err == nil {
			kh = def
		} else {
			kh = "~/.ssh/known_hosts"
		}
	} else if expanded, err := paths.ExpandHome(kh); err != nil {
		diags.AddAttributeError(sshPath("known_hosts_file"), "Invalid known_hosts file", fmt.Sprintf("%v%s: set the home directory, or give an absolute path.", err, from(khSrc)))
	} else {
		kh = expanded
	}
	c.KnownHostsFiles = []string{kh}

	// Bastion.
	var b bastionModel
	if m.Bastion != nil {
		b = *m.Bastion
	}
	if host, src := stringSetting(b.Host, envBastionHost); host != "" {
		if _, _, err := sshconn.HostPort(host, 22); err != nil {
			diags.AddAttributeError(sshPath("bastion").AtName("host"), "Invalid bastion host", err.Error()+from(src))
		}
		bu, _ := stringSetting(b.User, envBastionUser)
		c.Bastion = &sshconn.Bastion{Address: host, User: bu}
		if hk, src := stringSetting(b.HostKey, envBastionHostKey); hk != "" {
			pub, err := sshconn.ParsePublicKey(hk)
			if err != nil {
				diags.AddAttributeError(sshPath("bastion").AtName("host_key"), "Invalid bastion host key", "ssh.bastion.host_key"+from(src)+": "+err.Error())
			}
			c.Bastion.HostKey = pub
		}
	} else if m.Bastion != nil {
		diags.AddAttributeError(sshPath("bastion").AtName("host"), "Missing bastion host",
			"The bastion block needs host (or $"+envBastionHost+").")
	}

	c.Sudo = boolSetting(m.Sudo, envSudo, false, &diags, sshPath("sudo"))
	if hp, src := stringSetting(m.HelperPath, envHelperPath); hp != "" {
		if !validHelperPath(hp) {
			diags.AddAttributeError(sshPath("helper_path"), "Invalid helper path",
				fmt.Sprintf("%q%s must be an absolute path of letters, digits and /._+- (no .. component), such as /usr/local/libexec/vip-helper.", hp, from(src)))
		}
		d.helperPath = hp
	}
	if diags.HasError() {
		return nil, diags
	}
	d.pool = sshconn.NewPool(c)
	d.dummyLocks.canonical = d.pool.Address
	d.interfaceClaims.canonical = d.pool.Address
	d.snapshots = sshhost.NewSnapshots(sshhost.DefaultSnapshotIdle, sshhost.DefaultSnapshotMaxAge)
	tflog.Debug(ctx, "SSH transport configured", map[string]any{
		"user": c.User, "port": c.Port, "keys": len(c.Signers), "agent": c.AgentSocket != "", "password_auth": c.Password != "",
		"known_hosts_file": c.KnownHostsFiles[0], "host_key_pinned": c.HostKey != nil, "insecure_ignore_host_key": c.InsecureIgnoreHostKey,
		"bastion": bastionAddress(c.Bastion), "sudo": c.Sudo, "helper_path": d.helperPath, "timeout": c.Timeout.String(),
	})
	return d, diags
}

func bastionAddress(b *sshconn.Bastion) string {
	if b == nil {
		return ""
	}
	return b.Address
}

// helperPathPattern is what ssh.helper_path may be: an absolute path safe to put on a command line
// and into a sudoers rule unquoted.
var helperPathPattern = regexp.MustCompile(`^(/[A-Za-z0-9._+-]+)+$`)

func validHelperPath(p string) bool {
	return helperPathPattern.MatchString(p) && len(p) <= 255 && !slices.Contains(strings.Split(p, "/"), "..") && !slices.Contains(strings.Split(p, "/"), ".")
}

// SSHHostValidator checks a resource's `host` at plan time: `host`, `host:port` or `[v6]:port`,
// a DNS name or an IP address, so that a malformed or hostile value never reaches a connection.
type SSHHostValidator struct{}

var _ validator.String = SSHHostValidator{}

func (SSHHostValidator) Description(context.Context) string {
	return "must be host, host:port or [v6]:port, with a DNS name or an IP address"
}

func (v SSHHostValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (SSHHostValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, _, err := sshconn.HostPort(req.ConfigValue.ValueString(), 22); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid host", err.Error()+".")
	}
}
