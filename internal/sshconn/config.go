// Package sshconn dials real servers over SSH for the provider: authentication (keys, certificates,
// ssh-agent, password), strict host-key checking (known_hosts or a pinned key), an optional bastion,
// timeouts, keepalives, and a pool that keeps exactly one connection per (host, user, port) for the
// life of the provider process.
//
// Secrets (keys, passphrases, passwords) live only in Config; nothing in this package logs or
// formats them into an error.
package sshconn

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultTimeout bounds dialing (TCP and SSH handshake) and each command when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// DefaultKeepaliveInterval is how often an idle pooled connection is probed when
// Config.KeepaliveInterval is 0. A probe that fails or is unanswered for Timeout marks the
// connection dead, so the pool dials again on next use.
const DefaultKeepaliveInterval = 15 * time.Second

// Config says how to reach and authenticate to real servers. One Config serves every host of one
// provider configuration (one provider alias).
type Config struct {
	// User is the login user on the real servers.
	User string
	// Port is used when a host address names no port. 0 means 22.
	Port int

	// Signers are private keys (certificates already attached, see ParseSigner), tried before
	// the agent's keys.
	Signers []ssh.Signer
	// AgentSocket, when not empty, is where an ssh-agent whose keys are offered listens: a unix
	// socket, or on Windows a named pipe (`\\.\pipe\...`, see WindowsAgentPipe).
	AgentSocket string
	// AgentOptional skips an agent that cannot be reached instead of failing: for an agent
	// nobody asked for (Paths.Agent's implicit one), as ssh.exe skips a stopped agent service.
	AgentOptional bool
	// Password, when not empty, is offered for "password" and "keyboard-interactive" auth.
	Password string

	// KnownHostsFiles are checked for the host key unless HostKey is set or
	// InsecureIgnoreHostKey is true. A file that does not exist counts as empty.
	KnownHostsFiles []string
	// HostKey pins the real servers' host key instead of known_hosts.
	HostKey ssh.PublicKey
	// InsecureIgnoreHostKey accepts any host key. The provider warns when it is set.
	InsecureIgnoreHostKey bool

	// Bastion, when set, is the jump host every real server is reached through.
	Bastion *Bastion

	// Sudo runs commands with `sudo -n`, so a sudo that wants a password fails at once.
	Sudo bool

	// Timeout bounds the TCP dial plus SSH handshake, and each command. 0 means DefaultTimeout.
	Timeout time.Duration
	// KeepaliveInterval is the interval of keepalive probes. 0 means DefaultKeepaliveInterval;
	// negative disables keepalives.
	KeepaliveInterval time.Duration
}

// Bastion is a jump host. It is authenticated with the same credentials as the real servers.
type Bastion struct {
	// Address is `host`, `host:port` or `[v6]:port`.
	Address string
	// User on the bastion; empty means Config.User.
	User string
	// HostKey pins the bastion's host key; nil means it is checked like a real server's
	// (known_hosts, or Config.HostKey is NOT reused: a pinned key belongs to one host).
	HostKey ssh.PublicKey
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Config) keepalive() time.Duration {
	if c.KeepaliveInterval == 0 {
		return DefaultKeepaliveInterval
	}
	return c.KeepaliveInterval
}

func (c *Config) port() int {
	if c.Port > 0 {
		return c.Port
	}
	return 22
}

// HostPort splits a resource's `host` (`host`, `host:port`, `[v6]:port`, or a bare IPv6 address)
// into its host and port, using defaultPort when the address names none. The host must be a
// hostname or an IP address: the characters are restricted so that an address is always safe to
// show in a message and to write into a known_hosts line.
func HostPort(address string, defaultPort int) (host string, port int, err error) {
	if address == "" {
		return "", 0, fmt.Errorf("SSH host is empty")
	}
	host, portStr := address, ""
	switch {
	case strings.HasPrefix(address, "["):
		h, p, splitErr := net.SplitHostPort(address)
		if splitErr != nil {
			end := strings.IndexByte(address, ']')
			if end != len(address)-1 {
				return "", 0, fmt.Errorf("SSH host %q: %v; use host, host:port or [v6]:port", address, splitErr)
			}
			h = address[1:end]
		}
		host, portStr = h, p
		if !isIPv6(host) {
			return "", 0, fmt.Errorf("SSH host %q: only an IPv6 address may be written in brackets", address)
		}
	case strings.Count(address, ":") == 1:
		h, p, splitErr := net.SplitHostPort(address)
		if splitErr != nil {
			return "", 0, fmt.Errorf("SSH host %q: %v; use host, host:port or [v6]:port", address, splitErr)
		}
		host, portStr = h, p
	case strings.Count(address, ":") > 1:
		if !isIPv6(address) {
			return "", 0, fmt.Errorf("SSH host %q is not a valid IPv6 address; write an IPv6 address with a port as [v6]:port", address)
		}
	}
	if host == "" {
		return "", 0, fmt.Errorf("SSH host %q names no host", address)
	}
	if !isIPv6(host) {
		if host[0] == '-' || host[0] == '.' {
			return "", 0, fmt.Errorf("SSH host %q must start with a letter or digit", address)
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '.' && c != '_' {
				return "", 0, fmt.Errorf("SSH host %q contains %q; a host is a DNS name or an IP address", address, c)
			}
		}
	}
	port = defaultPort
	if port <= 0 {
		port = 22
	}
	if portStr != "" {
		p, convErr := strconv.Atoi(portStr)
		if convErr != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("SSH host %q: port %q is not a number from 1 to 65535", address, portStr)
		}
		port = p
	}
	return host, port, nil
}

func isIPv6(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.To4() == nil && strings.Contains(s, ":")
}

// ParseSigner parses a private key in PEM or OpenSSH format, decrypting it with passphrase when it
// is encrypted, and attaches certificate (an OpenSSH certificate in authorized_keys format) when
// given. name says where the key came from ("ssh.private_key", a file name) and is used in errors;
// no part of the key is ever put in an error.
func ParseSigner(name string, key, passphrase, certificate []byte) (ssh.Signer, error) {
	var signer ssh.Signer
	var err error
	if len(passphrase) > 0 {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(key, passphrase)
		if err != nil && (strings.Contains(err.Error(), "not an encrypted key") || strings.Contains(err.Error(), "not password protected")) {
			// A passphrase for a key that has none is harmless: use the key.
			signer, err = ssh.ParsePrivateKey(key)
		}
	} else {
		signer, err = ssh.ParsePrivateKey(key)
	}
	if err != nil {
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			return nil, fmt.Errorf("%s is encrypted: set ssh.private_key_passphrase (or VIP_SSH_PRIVATE_KEY_PASSPHRASE), or load it into the ssh-agent", name)
		case errors.Is(err, x509.IncorrectPasswordError):
			return nil, fmt.Errorf("%s: the passphrase is wrong", name)
		}
		return nil, fmt.Errorf("%s is not a private key in PEM or OpenSSH format: %s", name, safeKeyError(err))
	}
	if len(certificate) == 0 {
		return signer, nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(certificate)
	if err != nil {
		return nil, fmt.Errorf("certificate for %s is not an OpenSSH certificate (the one-line *-cert.pub format): %v", name, err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("certificate for %s is a plain %s public key, not a certificate", name, pub.Type())
	}
	if cert.CertType != ssh.UserCert {
		return nil, fmt.Errorf("certificate for %s is a host certificate; a user certificate is needed", name)
	}
	certSigner, err := ssh.NewCertSigner(cert, signer)
	if err != nil {
		return nil, fmt.Errorf("certificate does not belong to %s: %v", name, err)
	}
	return certSigner, nil
}

// safeKeyError keeps a parse error's message but never more than its first line, so that no key
// material an underlying parser might quote can reach a diagnostic.
func safeKeyError(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// ParsePublicKey parses a public key in authorized_keys form (`ssh-ed25519 AAAA... [comment]`) or
// known_hosts form (`host ssh-ed25519 AAAA...`), as users copy it for a pinned host_key.
func ParsePublicKey(text string) (ssh.PublicKey, error) {
	text = strings.TrimSpace(text)
	if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text)); err == nil {
		return pub, nil
	}
	if _, _, pub, _, _, err := ssh.ParseKnownHosts([]byte(text)); err == nil {
		return pub, nil
	}
	return nil, fmt.Errorf("not a public key: write it as `ssh-ed25519 AAAA...` (a line of the host's /etc/ssh/ssh_host_*_key.pub, or of `ssh-keyscan HOST`)")
}
