//go:build linux

package netlinkhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// Host is this machine.
type Host struct{}

var _ target.Target = Host{}

// New returns the Target for this machine.
func New() Host { return Host{} }

// dumpRetries bounds the retries of a dump the kernel reports as interrupted (the links or
// addresses changed while it was read).
const dumpRetries = 5

// Observe reads the link, every link's alias (to find the dummies this provider manages), the
// boot files persist writes, and the sysctls: two netlink dumps (links, addresses), one for
// addresses only when the link exists, and one small file read per sysctl and boot file.
func (Host) Observe(ctx context.Context, name target.IfName, sysctls []target.Sysctl) (target.Observation, error) {
	if _, err := target.ParseIfName(string(name)); err != nil {
		return target.Observation{}, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return target.Observation{}, fmt.Errorf("opening a netlink socket: %w", err)
	}
	defer h.Close()

	obs := target.Observation{Sysctls: map[target.Sysctl]int{}, Managed: map[target.IfName]string{}}
	links, err := retryDump(h.LinkList)
	if err != nil {
		return obs, fmt.Errorf("listing links: %w", err)
	}
	var link netlink.Link
	for _, l := range links {
		a := l.Attrs()
		if a.Name == string(name) {
			link = l
		}
		if strings.HasPrefix(a.Alias, target.AliasPrefix) {
			if n, err := target.ParseIfName(a.Name); err == nil {
				obs.Managed[n] = a.Alias
			}
		}
	}
	if link != nil {
		a := link.Attrs()
		obs.Link = target.Link{
			Exists: true,
			Kind:   kind(link),
			Index:  a.Index,
			Up:     a.Flags&net.FlagUp != 0,
			Alias:  a.Alias,
		}
		addrs, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_ALL) })
		if err != nil {
			return obs, fmt.Errorf("listing addresses of %s: %w", name, err)
		}
		obs.Link.Addresses = make([]netip.Prefix, 0, len(addrs))
		for _, ad := range addrs {
			if p, ok := prefixOf(ad); ok {
				obs.Link.Addresses = append(obs.Link.Addresses, p)
			}
		}
	}
	if obs.Boot, err = observeBoot(); err != nil {
		return obs, err
	}
	for _, sc := range sysctls {
		if err := ctx.Err(); err != nil {
			return obs, err
		}
		v, ok, err := readSysctl(sc)
		if err != nil {
			return obs, err
		}
		if ok {
			obs.Sysctls[sc] = v
		}
	}
	return obs, nil
}

func retryDump[T any](f func() ([]T, error)) ([]T, error) {
	for i := 0; ; i++ {
		v, err := f()
		if errors.Is(err, netlink.ErrDumpInterrupted) && i < dumpRetries {
			continue
		}
		return v, err
	}
}

// kind is the rtnl kind ("dummy", "veth", ...), "" for a device without one (a physical NIC, lo).
func kind(l netlink.Link) string {
	if t := l.Type(); t != "device" {
		return t
	}
	return ""
}

func prefixOf(a netlink.Addr) (netip.Prefix, bool) {
	if a.IPNet == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	bits, _ := a.Mask.Size()
	return netip.PrefixFrom(ip, bits), true
}

func readSysctl(sc target.Sysctl) (int, bool, error) {
	if err := sc.Validate(); err != nil {
		return 0, false, err
	}
	b, err := os.ReadFile(sc.Path())
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading %s: %w", sc, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false, fmt.Errorf("reading %s: %q is not a number", sc, strings.TrimSpace(string(b)))
	}
	return v, true, nil
}

func writeSysctl(sc target.Sysctl, v int) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	// O_WRONLY without O_CREATE: a sysctl that does not exist is ENOENT, not a new file.
	f, err := os.OpenFile(sc.Path(), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(v) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Apply executes steps over one netlink socket, in order, waiting for the kernel's answer to each
// (which is what tells which step failed).
func (Host) Apply(ctx context.Context, name target.IfName, steps []target.Step) error {
	if _, err := target.ParseIfName(string(name)); err != nil {
		return err
	}
	for i, s := range steps {
		if err := validate(s); err != nil {
			return fmt.Errorf("%w: %w", target.ErrNotApplied, &target.StepError{Index: i, Step: s, Err: err})
		}
	}
	// One writer per host, across processes: the lock, then the expectations the plan was
	// computed from, checked under it (see target.Expectations).
	unlock, err := lockHost(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", target.ErrNotApplied, err)
	}
	defer unlock()
	if len(steps) > 0 && target.IsExpectation(steps[0]) {
		obs, err := Host{}.Observe(ctx, name, target.ExpectedSysctls(steps))
		if err != nil {
			return fmt.Errorf("%w: checking the host before the apply: %w", target.ErrNotApplied, err)
		}
		if _, err := target.CheckExpectations(obs, steps); err != nil {
			return err
		}
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("opening a netlink socket: %w", err)
	}
	defer h.Close()

	var link netlink.Link // looked up once, by the first step that needs it
	getLink := func() (netlink.Link, error) {
		if link != nil {
			return link, nil
		}
		l, err := h.LinkByName(string(name))
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("interface %s does not exist", name)
			}
			return nil, err
		}
		link = l
		return l, nil
	}
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if target.IsExpectation(s) {
			continue // checked above
		}
		var err error
		switch s.Op {
		case target.OpCreateDummy:
			d := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: string(name)}}
			if err = h.LinkAdd(d); err == nil {
				link = nil
				var l netlink.Link
				if l, err = getLink(); err == nil {
					// No IPv6 link-local address on link-up: only VIPs belong on the dummy. A
					// kernel without IPv6 refuses; nothing is lost then.
					_ = h.LinkSetIP6AddrGenMode(l, 1 /* IN6_ADDR_GEN_MODE_NONE */)
				}
			}
		case target.OpSetUp:
			var l netlink.Link
			if l, err = getLink(); err == nil {
				err = h.LinkSetUp(l)
			}
		case target.OpSetAlias:
			var l netlink.Link
			if l, err = getLink(); err == nil {
				err = h.LinkSetAlias(l, s.Alias)
			}
		case target.OpSetSysctl:
			err = writeSysctl(s.Sysctl, s.Value)
		case target.OpWriteFile, target.OpSymlink, target.OpRemoveFile, target.OpDaemonReload:
			err = applyBoot(ctx, s)
		case target.OpAddAddress, target.OpDelAddress:
			var l netlink.Link
			if l, err = getLink(); err == nil {
				a := &netlink.Addr{IPNet: &net.IPNet{
					IP:   s.Prefix.Addr().AsSlice(),
					Mask: net.CIDRMask(s.Prefix.Bits(), s.Prefix.Addr().BitLen()),
				}}
				if s.Prefix.Addr().Is4() {
					a.Broadcast = net.IPv4zero // like `ip addr add`: no broadcast address unless asked
				} else {
					a.Flags = unix.IFA_F_NODAD // a VIP is not a SLAAC address: usable at once
				}
				if s.Op == target.OpAddAddress {
					err = h.AddrAdd(l, a)
				} else {
					err = h.AddrDel(l, a)
				}
			}
		case target.OpDeleteLink:
			var l netlink.Link
			if l, err = getLink(); err == nil {
				err = h.LinkDel(l)
				link = nil
			}
		default:
			err = fmt.Errorf("unknown step %v", s.Op)
		}
		if err != nil {
			return &target.StepError{Index: i, Step: s, Err: explain(s, err)}
		}
	}
	return nil
}

func validate(s target.Step) error {
	switch s.Op {
	case target.OpSetSysctl:
		return s.Sysctl.Validate()
	case target.OpSetAlias:
		return target.ValidAlias(s.Alias)
	case target.OpAddAddress, target.OpDelAddress:
		return target.ValidPrefix(s.Prefix)
	case target.OpWriteFile, target.OpSymlink, target.OpRemoveFile:
		return target.ValidateBootStep(s)
	}
	return nil
}

// explain adds what the kernel's terse errno means for the step.
func explain(s target.Step, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch {
	case s.Op == target.OpCreateDummy && errno == unix.EOPNOTSUPP:
		return fmt.Errorf("%w (the kernel has no dummy driver: modprobe dummy)", err)
	case s.Op == target.OpAddAddress && errno == unix.EEXIST:
		return fmt.Errorf("%w (the address is already on the link)", err)
	case s.Op == target.OpDelAddress && errno == unix.EADDRNOTAVAIL:
		return fmt.Errorf("%w (the address is not on the link: it changed since it was read)", err)
	case errno == unix.EPERM:
		return fmt.Errorf("%w (needs CAP_NET_ADMIN: run terraform as root)", err)
	}
	return err
}
