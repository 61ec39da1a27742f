package target

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// AliasPrefix starts the alias (IFLA_IFALIAS, `ip link set dev X alias ...`) of every dummy
// interface this provider manages. The rest of the alias lists the interfaces whose ARP sysctls
// the dummy needs, each with the arp_ignore/arp_announce values found before any dummy of this
// provider changed them ("-" when unknown):
//
//	terraform-provider-vip:all=0/0,eth0=0/1
//
// The kernel is the one place every resource on a host can see, whatever Terraform state or
// provider process it belongs to: a resource being destroyed learns from the other dummies'
// aliases whether an ARP sysctl is still needed, and a resource created later inherits the
// original value instead of recording the value another resource set.
const AliasPrefix = "terraform-provider-vip:"

// maxAlias is IFALIASZ (256) minus the terminating NUL.
const maxAlias = 255

// Originals maps each ARP sysctl a resource changed (or would change) to the value found before
// any resource of this provider changed it.
type Originals map[Sysctl]int

// EncodeAlias builds the alias for a dummy that needs the ARP sysctls of interfaces.
func EncodeAlias(interfaces []IfName, orig Originals) (string, error) {
	var b strings.Builder
	b.WriteString(AliasPrefix)
	for i, ifn := range interfaces {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(ifn))
		b.WriteByte('=')
		for j, key := range []string{KeyARPIgnore, KeyARPAnnounce} {
			if j > 0 {
				b.WriteByte('/')
			}
			if v, ok := orig[Sysctl{Interface: string(ifn), Key: key}]; ok {
				b.WriteString(strconv.Itoa(v))
			} else {
				b.WriteByte('-')
			}
		}
	}
	s := b.String()
	if err := ValidAlias(s); err != nil {
		return "", err
	}
	return s, nil
}

// ValidAlias checks an alias before it is handed to a target: at most 255 bytes, and only
// characters from interface names, digits and ":=/,-", so that it is safe to pass as data.
func ValidAlias(s string) error {
	if len(s) > maxAlias {
		return fmt.Errorf("interface alias is %d bytes long, Linux allows at most %d; list fewer arp_interfaces", len(s), maxAlias)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_.@+:=/,", c) >= 0:
		default:
			return fmt.Errorf("interface alias %q contains %q at byte %d", s, c, i)
		}
	}
	return nil
}

// ParseAlias reads an alias written by EncodeAlias. ok is false for an alias that is not this
// provider's; a malformed entry is skipped, so that a hand-edited alias cannot make a destroy
// fail (the worst outcome is a sysctl left as it is).
func ParseAlias(alias string) (interfaces []IfName, orig Originals, ok bool) {
	rest, ok := strings.CutPrefix(alias, AliasPrefix)
	if !ok {
		return nil, nil, false
	}
	orig = Originals{}
	if rest == "" {
		return nil, orig, true
	}
	for _, entry := range strings.Split(rest, ",") {
		name, vals, found := strings.Cut(entry, "=")
		if !found {
			continue
		}
		ifn, err := ParseIfName(name)
		if err != nil {
			continue
		}
		interfaces = append(interfaces, ifn)
		// Values are range-checked: they are written back on destroy, and an alias anyone
		// with root on the host can set must not make the provider write 999 to a sysctl.
		ign, ann, _ := strings.Cut(vals, "/")
		if v, err := strconv.Atoi(ign); err == nil && ValidARPIgnore(v) == nil {
			orig[Sysctl{Interface: name, Key: KeyARPIgnore}] = v
		}
		if v, err := strconv.Atoi(ann); err == nil && ValidARPAnnounce(v) == nil {
			orig[Sysctl{Interface: name, Key: KeyARPAnnounce}] = v
		}
	}
	return interfaces, orig, true
}

// Sorted returns the sysctls of o in a stable order (interface, then key), for deterministic steps.
func (o Originals) Sorted() []Sysctl {
	out := make([]Sysctl, 0, len(o))
	for s := range o {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Interface != out[j].Interface {
			return out[i].Interface < out[j].Interface
		}
		return out[i].Key < out[j].Key
	})
	return out
}
