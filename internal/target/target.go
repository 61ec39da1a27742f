// Package target defines what the provider needs from a host to manage a dummy interface:
// observe it, and execute a list of already-validated steps. The convergence logic (what to add,
// what to remove, in which order, failing closed) lives in this package above the interface, once,
// so the local (netlink) and remote (SSH) implementations only observe and execute.
package target

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// Target is one host: this machine through netlink, or a real server over SSH.
type Target interface {
	// Observe reads the interface and the given ARP sysctls in one round trip. A missing interface
	// is not an error: Observation.Link.Exists is false.
	Observe(ctx context.Context, ifname IfName, sysctls []Sysctl) (Observation, error)
	// Apply executes steps in order, in one round trip, and stops at the first step that fails,
	// returning a *StepError that says which one. Steps before it stay done.
	Apply(ctx context.Context, ifname IfName, steps []Step) error
}

// Observation is what a host has now.
type Observation struct {
	Link    Link
	Sysctls map[Sysctl]int // value of every sysctl asked for that exists on the host
	// Managed maps every link on the host whose alias starts with AliasPrefix (including the
	// observed link itself) to that alias: how this provider marks the dummies it manages, so that
	// one resource knows which ARP sysctls another still needs, and what they were before.
	Managed map[IfName]string
	// Boot is what the host has of the files persist writes (see persist.go).
	Boot BootFiles
}

// Link is one network interface as the kernel reports it.
type Link struct {
	Exists    bool
	Kind      string // "dummy", "veth", "" for a device without rtnl kind (e.g. a physical NIC)
	Index     int
	Up        bool
	Addresses []netip.Prefix // addresses on the link, canonical (netip.Prefix.Masked is NOT applied: host bits kept)
	Alias     string         // IFLA_IFALIAS, "" when unset
}

// Sysctl names one ARP sysctl: net.ipv4.conf.<Interface>.<Key>.
type Sysctl struct {
	Interface string // "all", "default" or an interface name, validated with ParseIfName
	Key       string // "arp_ignore", "arp_announce" or "promote_secondaries"
}

// The sysctl keys the provider reads and writes.
const (
	KeyARPIgnore          = "arp_ignore"
	KeyARPAnnounce        = "arp_announce"
	KeyPromoteSecondaries = "promote_secondaries"
)

// Validate checks that the sysctl is one of those the provider may touch, so that a target can
// build its path without further checks.
func (s Sysctl) Validate() error {
	if _, err := ParseIfName(s.Interface); err != nil {
		return err
	}
	switch s.Key {
	case KeyARPIgnore, KeyARPAnnounce, KeyPromoteSecondaries:
		return nil
	}
	return fmt.Errorf("sysctl key %q is not one this provider manages", s.Key)
}

// Path is the sysctl's file under /proc/sys.
func (s Sysctl) Path() string { return "/proc/sys/net/ipv4/conf/" + s.Interface + "/" + s.Key }

func (s Sysctl) String() string { return "net.ipv4.conf." + s.Interface + "." + s.Key }

// Op is the kind of one step.
type Op int

const (
	OpCreateDummy  Op = iota + 1 // create the link as kind dummy (an error if it exists), ideally with IPv6 addrgenmode none
	OpSetUp                      // set the link up
	OpSetSysctl                  // write Step.Value to Step.Sysctl
	OpAddAddress                 // add Step.Prefix to the link
	OpDelAddress                 // remove Step.Prefix from the link
	OpDeleteLink                 // delete the link
	OpSetAlias                   // set the link's alias (IFLA_IFALIAS) to Step.Alias, validated with ValidAlias
	OpWriteFile                  // write Step.Content to Step.Path (mode 0644, parents created), through a temporary file renamed over it
	OpSymlink                    // make Step.Path a symbolic link to Step.Content, through a temporary link renamed over it
	OpRemoveFile                 // remove Step.Path; a missing file is no error
	OpDaemonReload               // systemctl daemon-reload
)

func (o Op) String() string {
	switch o {
	case OpCreateDummy:
		return "create dummy link"
	case OpSetUp:
		return "set link up"
	case OpSetSysctl:
		return "set sysctl"
	case OpAddAddress:
		return "add address"
	case OpDelAddress:
		return "remove address"
	case OpDeleteLink:
		return "delete link"
	case OpSetAlias:
		return "set link alias"
	case OpWriteFile:
		return "write"
	case OpSymlink:
		return "link"
	case OpRemoveFile:
		return "remove"
	case OpDaemonReload:
		return "systemctl daemon-reload"
	case OpExpectLink, OpExpectManaged, OpExpectManagedCount, OpExpectSysctl:
		return "check"
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Step is one change. Only the fields its Op needs are set.
type Step struct {
	Op     Op
	Sysctl Sysctl
	Value  int
	Prefix netip.Prefix
	Alias  string
	// Path and Content are the file and its content (OpWriteFile), or the link and its target
	// (OpSymlink); Path alone for OpRemoveFile. Checked with BootPathAllowed and ValidBootContent.
	Path    string
	Content string
	// Peer is the other link an OpExpectManaged step is about.
	Peer IfName
}

func (s Step) String() string {
	switch s.Op {
	case OpSetSysctl:
		return fmt.Sprintf("%s %s=%d", s.Op, s.Sysctl, s.Value)
	case OpAddAddress, OpDelAddress:
		return fmt.Sprintf("%s %s", s.Op, s.Prefix)
	case OpSetAlias:
		return fmt.Sprintf("%s %q", s.Op, s.Alias)
	case OpWriteFile, OpRemoveFile:
		return fmt.Sprintf("%s %s", s.Op, s.Path)
	case OpSymlink:
		return fmt.Sprintf("%s %s -> %s", s.Op, s.Path, s.Content)
	}
	return s.Op.String()
}

// ErrNotApplied marks an Apply error that proves nothing was done: the request was refused
// before it reached the host (it failed validation, the session could not start, sudo refused
// it). Converge then reports the host as it observed it, not as partly changed.
var ErrNotApplied = errors.New("nothing was changed on the host")

// StepError reports the step at which Apply stopped.
type StepError struct {
	Index int
	Step  Step
	Err   error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// IfName is a validated Linux interface name.
type IfName string

// ParseIfName checks a name against the kernel's rules (dev_valid_name): 1 to 15 bytes, not "." or
// "..", no '/', ':' or whitespace. It is stricter than the kernel in one way: only ASCII letters,
// digits and "-_.@+", which every interface-naming scheme in use fits, so that a name is always
// safe to show, to use in a sysctl path and to hand to a remote helper.
func ParseIfName(s string) (IfName, error) {
	if s == "" {
		return "", fmt.Errorf("interface name is empty")
	}
	if len(s) > 15 {
		return "", fmt.Errorf("interface name %q is %d bytes long; Linux allows at most 15", s, len(s))
	}
	if s == "." || s == ".." {
		return "", fmt.Errorf("interface name %q is reserved", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/' || c == ':':
			return "", fmt.Errorf("interface name %q contains %q, which Linux does not allow", s, c)
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '@', c == '+':
		default:
			return "", fmt.Errorf("interface name %q contains %q at byte %d; use only letters, digits and -_.@+", s, c, i)
		}
	}
	return IfName(s), nil
}

// ValidateBootStep checks a file step before a target runs it: the path is one this provider
// owns, the content is plain text, a link target is the unit's relative name.
func ValidateBootStep(s Step) error {
	switch s.Op {
	case OpWriteFile:
		if !BootPathAllowed(s.Path) || s.Path == BootWantsPath {
			return fmt.Errorf("%s is not a file this provider writes", s.Path)
		}
		return ValidBootContent(s.Content)
	case OpSymlink:
		if s.Path != BootWantsPath || s.Content != "../"+BootUnitName {
			return fmt.Errorf("link %s -> %s is not one this provider makes", s.Path, s.Content)
		}
	case OpRemoveFile:
		if !BootPathAllowed(s.Path) {
			return fmt.Errorf("%s is not a file this provider writes", s.Path)
		}
	}
	return nil
}
