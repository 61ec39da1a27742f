package sshconn

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// UnknownHostKeyError says that the host offered a key that no known_hosts line (or pin) names.
// It carries what the user needs to check and trust the key out of band.
type UnknownHostKeyError struct {
	Address       string // host:port as dialed
	Key           ssh.PublicKey
	Files         []string // known_hosts files searched
	MissingFiles  []string // those of Files that do not exist
	KnownHostLine string   // the line to append to a known_hosts file to trust Key
}

func (e *UnknownHostKeyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "host key of %s is unknown: %s key %s is in no known_hosts file (searched: %s)",
		e.Address, e.Key.Type(), ssh.FingerprintSHA256(e.Key), strings.Join(e.Files, ", "))
	if len(e.MissingFiles) > 0 {
		fmt.Fprintf(&b, "; %s does not exist", strings.Join(e.MissingFiles, ", "))
	}
	fmt.Fprintf(&b, ".\nCheck the fingerprint out of band (on the host: `ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub`), then append this line to %s:\n%s\nor pin the key with ssh.host_key.",
		keyFileStem(e.Key), firstOr(e.Files, "the known_hosts file"), e.KnownHostLine)
	return b.String()
}

// ChangedHostKeyError says that the host offered a key other than the one(s) known_hosts (or the
// pin) holds for it: a re-installed host, or a man-in-the-middle. It is never accepted.
type ChangedHostKeyError struct {
	Address string
	Key     ssh.PublicKey
	Want    []knownhosts.KnownKey // empty for a pinned key
	Pinned  ssh.PublicKey
}

func (e *ChangedHostKeyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HOST KEY OF %s HAS CHANGED: REFUSING TO CONNECT. Someone could be eavesdropping (a man-in-the-middle attack), or the host was re-installed. "+
		"It offered %s key %s", e.Address, e.Key.Type(), ssh.FingerprintSHA256(e.Key))
	if e.Pinned != nil {
		fmt.Fprintf(&b, " but ssh.host_key pins %s key %s.", e.Pinned.Type(), ssh.FingerprintSHA256(e.Pinned))
	} else {
		b.WriteString(" but known_hosts says:")
		for _, k := range e.Want {
			fmt.Fprintf(&b, "\n  %s:%d: %s key %s", k.Filename, k.Line, k.Key.Type(), ssh.FingerprintSHA256(k.Key))
		}
	}
	b.WriteString("\nVerify the new key out of band; only then replace the old entry (`ssh-keygen -R HOST -f KNOWN_HOSTS`) or the pin.")
	return b.String()
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func keyFileStem(k ssh.PublicKey) string {
	switch {
	case strings.Contains(k.Type(), "ed25519"):
		return "ed25519"
	case strings.Contains(k.Type(), "ecdsa"):
		return "ecdsa"
	case strings.Contains(k.Type(), "rsa"):
		return "rsa"
	}
	return "*"
}

// hostKeyCheck is the host-key policy for one host: the callback for ssh.ClientConfig and the
// host-key algorithms to ask for, so that a host known by, say, its RSA key is not reported as
// changed because it would rather show its Ed25519 key.
type hostKeyCheck struct {
	callback   ssh.HostKeyCallback
	algorithms []string
}

// hostKeyPolicy builds the host-key check for address (host:port) from a pin, known_hosts files or
// the insecure switch, in that order of precedence.
func hostKeyPolicy(address string, pinned ssh.PublicKey, files []string, insecure bool) (*hostKeyCheck, error) {
	if pinned != nil {
		want := pinned.Marshal()
		return &hostKeyCheck{
			algorithms: algorithmsFor([]ssh.PublicKey{pinned}),
			callback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
				if string(key.Marshal()) == string(want) {
					return nil
				}
				return &ChangedHostKeyError{Address: address, Key: key, Pinned: pinned}
			},
		}, nil
	}
	if insecure {
		return &hostKeyCheck{callback: ssh.InsecureIgnoreHostKey()}, nil
	}
	var existing, missing []string
	for _, f := range files {
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, f)
			continue
		}
		existing = append(existing, f)
	}
	db, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts (%s): %w", strings.Join(existing, ", "), err)
	}
	// Ask the database which keys it knows for this host by showing it a throwaway key: the
	// KeyError lists them. Their types decide the host-key algorithms to negotiate.
	// The list mixes host keys and @cert-authority keys: a CA's own type says nothing about the
	// type of the host keys it signs, and a host is proven by a certificate, not by the CA key.
	var known []ssh.PublicKey
	authorities := false
	probe, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	var keyErr *knownhosts.KeyError
	if err := db(address, placeholderAddr(address), probe); errors.As(err, &keyErr) {
		lines := knownHostsLines{}
		for _, k := range keyErr.Want {
			if lines.isCertAuthority(k) {
				authorities = true
				continue
			}
			known = append(known, k.Key)
		}
	}
	check := &hostKeyCheck{algorithms: algorithmsFor(known)}
	if authorities {
		// Certificates first: a host that has one proves itself with it. Plain keys that
		// known_hosts lists for the host too stay acceptable after them.
		check.algorithms = append(slices.Clone(certAlgorithms), check.algorithms...)
	}
	check.callback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := db(hostname, remote, key)
		if err == nil {
			return nil
		}
		var keyErr *knownhosts.KeyError
		var revoked *knownhosts.RevokedError
		switch {
		case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
			return &UnknownHostKeyError{Address: address, Key: key, Files: files, MissingFiles: missing,
				KnownHostLine: knownhosts.Line([]string{address}, key)}
		case errors.As(err, &keyErr):
			return &ChangedHostKeyError{Address: address, Key: key, Want: keyErr.Want}
		case errors.As(err, &revoked):
			return fmt.Errorf("host key of %s (%s) is marked @revoked in %s:%d: refusing to connect",
				address, ssh.FingerprintSHA256(key), revoked.Revoked.Filename, revoked.Revoked.Line)
		}
		return fmt.Errorf("checking host key of %s: %w", address, err)
	}
	return check, nil
}

// certAlgorithms are the host-certificate algorithms to offer when known_hosts trusts a
// @cert-authority for the host, in the client's order of preference: a CA of any type may sign a
// host key of any type.
var certAlgorithms = []string{
	ssh.CertAlgoED25519v01,
	ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
}

// knownHostsLines reads known_hosts lines by file and number, each file once, to tell which of
// the keys knownhosts reports for a host come from @cert-authority lines (its KnownKey does not
// say).
type knownHostsLines map[string][]string

func (l knownHostsLines) isCertAuthority(k knownhosts.KnownKey) bool {
	lines, ok := l[k.Filename]
	if !ok {
		b, err := os.ReadFile(k.Filename)
		if err == nil {
			lines = strings.Split(string(b), "\n")
		}
		l[k.Filename] = lines
	}
	if k.Line < 1 || k.Line > len(lines) {
		return false
	}
	f := strings.Fields(lines[k.Line-1])
	return len(f) > 0 && f[0] == "@cert-authority"
}

// placeholderAddr gives knownhosts a remote address to parse when probing; the hostname argument
// takes precedence over it.
func placeholderAddr(address string) net.Addr {
	host, port, _ := net.SplitHostPort(address)
	p, _ := strconv.Atoi(port)
	return &net.TCPAddr{IP: net.ParseIP(host), Port: p}
}

// algorithmsFor lists the host-key algorithms that can prove possession of the given keys, in the
// client's order of preference. nil (no preference: any algorithm) when keys is empty.
func algorithmsFor(keys []ssh.PublicKey) []string {
	seen := map[string]bool{}
	var out []string
	add := func(algs ...string) {
		for _, a := range algs {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	for _, k := range keys {
		switch t := k.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		case ssh.CertAlgoRSAv01:
			add(ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01)
		default:
			add(t)
		}
	}
	return out
}
