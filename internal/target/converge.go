package target

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Spec is what one vip_dummy_interface wants on its host.
type Spec struct {
	Name      IfName
	Addresses []netip.Prefix // desired addresses, canonical, no duplicates
	// Previous are the addresses the resource managed so far (its state). In non-exclusive mode
	// only those are removed when they leave Addresses; other addresses on the link are not ours.
	Previous      []netip.Prefix
	Exclusive     bool
	ARPIgnore     int
	ARPAnnounce   int
	ARPInterfaces []IfName // interfaces whose net.ipv4.conf.<if>.arp_* are set ("all" included)
	// Originals are the ARP sysctl values found before this provider first changed them, as kept
	// in the resource's private state.
	Originals Originals
	// Persist: the boot files recreate the interface at boot (see persist.go); when false, the
	// interface's boot files are removed if present.
	Persist bool
	// Create is set when the resource is being created: an interface of that name that exists
	// already is not its own, and is refused (ExistsError) rather than taken over.
	Create bool
}

// Result is what a host has after Converge, as far as it is known, also when Converge fails.
type Result struct {
	Exists    bool
	Index     int
	Addresses []netip.Prefix // on the link now, as Read would report them
	Originals Originals      // to keep in private state
	// Unknown is true when a transport failure left the outcome of the apply unknown; the other
	// fields then describe the host before the apply.
	Unknown bool
	// Persisted is true when the boot files recreate the interface as Spec asked (Spec.Persist
	// and every boot file written).
	Persisted bool
	// Systemd is what the observation found of the host's init (BootFiles.Systemd), meaningful
	// only when SystemdKnown (the host was read): the provider keeps it so that the next plan can
	// refuse persist = true on a host without systemd before any apply.
	Systemd, SystemdKnown bool
}

// ARPSysctls lists the ARP sysctls of interfaces, arp_ignore before arp_announce.
func ARPSysctls(interfaces []IfName) []Sysctl {
	out := make([]Sysctl, 0, 2*len(interfaces))
	for _, ifn := range interfaces {
		out = append(out,
			Sysctl{Interface: string(ifn), Key: KeyARPIgnore},
			Sysctl{Interface: string(ifn), Key: KeyARPAnnounce})
	}
	return out
}

func promoteSecondaries(name IfName) Sysctl {
	return Sysctl{Interface: string(name), Key: KeyPromoteSecondaries}
}

// Sysctls lists every sysctl Converge needs to observe for s.
func (s Spec) Sysctls() []Sysctl {
	out := ARPSysctls(s.ARPInterfaces)
	for _, sc := range s.Originals.Sorted() {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return append(out, promoteSecondaries(s.Name))
}

// Validate checks a Spec before anything is observed.
func (s Spec) Validate() error {
	if _, err := ParseIfName(string(s.Name)); err != nil {
		return err
	}
	if s.Name == "all" || s.Name == "default" {
		return fmt.Errorf("interface name %q is reserved by the kernel's sysctl tree", s.Name)
	}
	if err := ValidARPIgnore(s.ARPIgnore); err != nil {
		return err
	}
	if err := ValidARPAnnounce(s.ARPAnnounce); err != nil {
		return err
	}
	seen := make(map[IfName]bool, len(s.ARPInterfaces))
	for _, ifn := range s.ARPInterfaces {
		if _, err := ParseIfName(string(ifn)); err != nil {
			return fmt.Errorf("arp_interfaces: %w", err)
		}
		if seen[ifn] {
			return fmt.Errorf("arp_interfaces lists %q twice", ifn)
		}
		seen[ifn] = true
	}
	addrs := make(map[netip.Prefix]bool, len(s.Addresses))
	for _, p := range s.Addresses {
		if err := ValidPrefix(p); err != nil {
			return err
		}
		if addrs[p] {
			return fmt.Errorf("address %s is listed twice", p)
		}
		addrs[p] = true
	}
	return nil
}

// ValidARPIgnore accepts the arp_ignore values the kernel documents (0-3 and 8).
func ValidARPIgnore(v int) error {
	if (v >= 0 && v <= 3) || v == 8 {
		return nil
	}
	return fmt.Errorf("arp_ignore %d is not one of 0, 1, 2, 3, 8 (see the kernel's ip-sysctl documentation)", v)
}

// ValidARPAnnounce accepts the arp_announce values the kernel documents (0-2).
func ValidARPAnnounce(v int) error {
	if v >= 0 && v <= 2 {
		return nil
	}
	return fmt.Errorf("arp_announce %d is not one of 0, 1, 2", v)
}

// ValidPrefix accepts the addresses a target may put on a dummy: IPv4 or IPv6 without zone,
// neither unspecified nor multicast, with host bits kept.
func ValidPrefix(p netip.Prefix) error {
	a := p.Addr()
	switch {
	case !p.IsValid():
		return fmt.Errorf("invalid address %s", p)
	case a.Zone() != "":
		return fmt.Errorf("address %s has a zone; interface addresses cannot", p)
	case a.Is4In6():
		return fmt.Errorf("address %s is IPv4-mapped IPv6; write the IPv4 address %s instead", p, a.Unmap())
	case a.IsUnspecified():
		return fmt.Errorf("address %s is unspecified", p)
	case a.IsMulticast():
		return fmt.Errorf("address %s is multicast", p)
	}
	return nil
}

// ignoredByDefault reports kernel-generated IPv6 link-local addresses, which a dummy gets on
// link-up unless address generation is off: they cannot take traffic for a VIP, so they are not
// drift, unless the configuration names them.
func ignoredByDefault(p netip.Prefix) bool {
	return p.Addr().Is6() && p.Addr().IsLinkLocalUnicast()
}

// Reported is what Read reports as the resource's addresses from the link's addresses: in
// exclusive mode every address (except kernel-generated IPv6 link-local ones not in previous),
// otherwise only those in previous.
func Reported(onLink, previous []netip.Prefix, exclusive bool) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(onLink))
	prev := toSet(previous)
	for _, p := range onLink {
		if prev[p] || (exclusive && !ignoredByDefault(p)) {
			out = append(out, p)
		}
	}
	return out
}

// Plan is the outcome of planning a convergence.
type Plan struct {
	Steps     []Step
	Originals Originals
}

// NotDummyError is returned when the named link exists and is not a dummy. Nothing is touched.
type NotDummyError struct {
	Name IfName
	Kind string
}

func (e *NotDummyError) Error() string {
	kind := e.Kind
	if kind == "" {
		kind = "a device without rtnl kind, e.g. a physical NIC"
	}
	return fmt.Sprintf("interface %s exists and is not a dummy (kind: %s); this provider only manages dummy interfaces it may delete. Choose another name", e.Name, kind)
}

// ExistsError is returned when a resource being created finds its interface already there: it
// may belong to another resource, another Terraform state or another tool, so nothing is touched.
type ExistsError struct {
	Name IfName
	Kind string
	// Managed: the interface carries this provider's alias, so some vip_dummy_interface (in
	// another state, or an interrupted apply of this one) created it.
	Managed bool
}

func (e *ExistsError) Error() string {
	what := "a " + e.Kind + " interface"
	switch {
	case e.Managed:
		what = "a dummy interface marked as managed by this provider (by another resource or state, or by an interrupted apply)"
	case e.Kind == "":
		what = "an interface (a device without rtnl kind, e.g. a physical NIC)"
	}
	return fmt.Sprintf("interface %s already exists, %s; a new resource never takes over an interface it did not create", e.Name, what)
}

// peers parses the aliases of the other dummies this provider manages on the host.
func peers(obs Observation, self IfName) (covered map[string]bool, orig Originals) {
	covered = map[string]bool{}
	orig = Originals{}
	for name, alias := range obs.Managed {
		if name == self {
			continue
		}
		ifs, o, ok := ParseAlias(alias)
		if !ok {
			continue
		}
		for _, ifn := range ifs {
			covered[string(ifn)] = true
		}
		for sc, v := range o {
			if _, have := orig[sc]; !have {
				orig[sc] = v
			}
		}
	}
	return covered, orig
}

// PlanConverge computes the steps that bring obs to spec, in the order that never exposes a VIP
// without ARP suppression and never drops a VIP that stays: create the dummy, mark it, keep its
// IPv4 secondaries from being flushed with their primary, set it up, set the ARP sysctls, add
// new addresses, write (or remove) the boot files, remove old addresses, then restore the ARP
// sysctls of interfaces no longer listed. The boot files sit between the additions and the
// removals, so that a reboot at any point brings back a set the host held with ARP suppressed,
// and never an address that was removed.
func PlanConverge(spec Spec, obs Observation) (Plan, error) {
	if err := spec.Validate(); err != nil {
		return Plan{}, err
	}
	link := obs.Link
	if link.Exists && link.Kind != "dummy" {
		return Plan{}, &NotDummyError{Name: spec.Name, Kind: link.Kind}
	}
	if spec.Create && link.Exists {
		return Plan{}, &ExistsError{Name: spec.Name, Kind: link.Kind, Managed: strings.HasPrefix(link.Alias, AliasPrefix)}
	}
	covered, peerOrig := peers(obs, spec.Name)

	orig := Originals{}
	for sc, v := range spec.Originals {
		orig[sc] = v
	}
	if link.Exists {
		if _, own, ok := ParseAlias(link.Alias); ok {
			for sc, v := range own {
				if _, have := orig[sc]; !have {
					orig[sc] = v
				}
			}
		}
	}
	want := ARPSysctls(spec.ARPInterfaces)
	for _, sc := range want {
		if _, have := orig[sc]; have {
			continue
		}
		if covered[sc.Interface] {
			// Another dummy set it: its value now is not the original one.
			if v, ok := peerOrig[sc]; ok {
				orig[sc] = v
			}
			continue
		}
		if v, ok := obs.Sysctls[sc]; ok {
			orig[sc] = v
		}
	}

	var steps []Step
	if !link.Exists {
		steps = append(steps, Step{Op: OpCreateDummy})
	}
	alias, err := EncodeAlias(spec.ARPInterfaces, orig)
	if err != nil {
		return Plan{}, err
	}
	if !link.Exists || link.Alias != alias {
		steps = append(steps, Step{Op: OpSetAlias, Alias: alias})
	}
	if v, ok := obs.Sysctls[promoteSecondaries(spec.Name)]; !link.Exists || !ok || v != 1 {
		steps = append(steps, Step{Op: OpSetSysctl, Sysctl: promoteSecondaries(spec.Name), Value: 1})
	}
	if !link.Up {
		steps = append(steps, Step{Op: OpSetUp})
	}
	for _, sc := range want {
		value := spec.ARPIgnore
		if sc.Key == KeyARPAnnounce {
			value = spec.ARPAnnounce
		}
		if v, ok := obs.Sysctls[sc]; !ok || v != value {
			steps = append(steps, Step{Op: OpSetSysctl, Sysctl: sc, Value: value})
		}
	}

	onLink := toSet(link.Addresses)
	desired := toSet(spec.Addresses)
	previous := toSet(spec.Previous)
	var adds, dels []Step
	for _, p := range link.Addresses {
		if desired[p] {
			continue
		}
		if spec.Exclusive && !ignoredByDefault(p) || previous[p] {
			dels = append(dels, Step{Op: OpDelAddress, Prefix: p})
		}
	}
	// IPv6 knows an address once per link whatever its prefix length, so changing the length of
	// an IPv6 address means removing it first; this is the one removal that comes before an add.
	var early []Step
	for _, p := range spec.Addresses {
		if onLink[p] {
			continue
		}
		if p.Addr().Is6() {
			for _, q := range link.Addresses {
				if q.Addr() == p.Addr() {
					early = append(early, Step{Op: OpDelAddress, Prefix: q})
					dels = slices.DeleteFunc(dels, func(s Step) bool { return s.Prefix == q })
				}
			}
		}
		adds = append(adds, Step{Op: OpAddAddress, Prefix: p})
	}
	boot, err := PlanBoot(spec, alias, obs.Boot)
	if err != nil {
		return Plan{}, err
	}
	steps = append(steps, early...)
	steps = append(steps, adds...)
	steps = append(steps, boot...)
	steps = append(steps, dels...)

	// Interfaces dropped from arp_interfaces get their original values back, after the addresses
	// that needed them are gone, unless another dummy still needs them.
	wantSet := make(map[Sysctl]bool, len(want))
	for _, sc := range want {
		wantSet[sc] = true
	}
	for _, sc := range orig.Sorted() {
		if wantSet[sc] {
			continue
		}
		v := orig[sc]
		delete(orig, sc)
		if covered[sc.Interface] {
			continue
		}
		if cur, ok := obs.Sysctls[sc]; ok && cur != v {
			steps = append(steps, Step{Op: OpSetSysctl, Sysctl: sc, Value: v})
		}
	}
	return Plan{Steps: steps, Originals: orig}, nil
}

// Converge brings the host to spec: observe, plan, apply in one round trip each. If a sysctl
// cannot be set it fails closed: a second apply removes every VIP from the link (setting the
// link down would not do: an IPv4 address on a down link still takes traffic) and the error names
// the sysctl. The Result describes the host afterwards as well as it is known, also on error.
func Converge(ctx context.Context, t Target, spec Spec) (Result, error) {
	if err := spec.Validate(); err != nil {
		return Result{}, err
	}
	for attempt := 1; ; attempt++ {
		res, err := convergeOnce(ctx, t, spec)
		if !errors.Is(err, ErrChanged) || attempt == changeRetries {
			return res, err
		}
	}
}

// convergeOnce observes, plans and applies once; the apply checks on the host, under its lock,
// that the observation still holds (see Expectations). A target that is an ObservingApplier reads
// and applies in one round trip.
func convergeOnce(ctx context.Context, t Target, spec Spec) (Result, error) {
	var res Result
	var plan Plan
	var planErr error
	expected := 0 // the expectation steps leading what decide returned
	decide := func(obs Observation) ([]Step, error) {
		res = Result{
			Exists:    obs.Link.Exists,
			Index:     obs.Link.Index,
			Addresses: Reported(obs.Link.Addresses, spec.Previous, spec.Exclusive),
			Originals: spec.Originals,
			Systemd:   obs.Boot.Systemd, SystemdKnown: true,
		}
		plan, planErr = PlanConverge(spec, obs)
		if planErr != nil || len(plan.Steps) == 0 {
			return nil, planErr
		}
		expect := Expectations(obs, spec.Name, spec.Sysctls())
		expected = len(expect)
		return append(expect, plan.Steps...), nil
	}
	applied, err := observeAndApply(ctx, t, spec.Name, spec.Sysctls(), decide)
	switch {
	case !applied.Decided:
		if err == nil { // a target breaking the contract: no observation, no error
			err = errors.New("the target returned no observation")
		}
		return Result{}, fmt.Errorf("reading interface %s: %w", spec.Name, err)
	case planErr != nil:
		return res, planErr
	case len(plan.Steps) == 0:
		res.Originals = plan.Originals
		res.Persisted = spec.Persist
		return res, nil
	}
	obs := applied.Observation
	applyErr := checkedError(err, expected)
	if errors.Is(applyErr, ErrNotApplied) {
		// Refused before anything ran: the host is as observed, and no step is partly done.
		return res, fmt.Errorf("applying changes to interface %s: %w", spec.Name, applyErr)
	}
	var se *StepError
	if applyErr != nil && !errors.As(applyErr, &se) {
		res.Unknown = true
		return res, fmt.Errorf("applying changes to interface %s (outcome unknown; the next plan shows what is left): %w", spec.Name, applyErr)
	}
	done := plan.Steps
	if se != nil {
		done = plan.Steps[:se.Index]
	}
	// Persisted when every boot step (none, if the files matched) is done.
	res.Persisted = spec.Persist && !slices.ContainsFunc(plan.Steps[len(done):], isBootStep)
	// Originals of sysctls that were (or may have been) written are kept even when the apply
	// failed, so that a destroy can still restore them.
	res.Originals = plan.Originals
	if se != nil {
		for sc, v := range spec.Originals {
			if _, ok := res.Originals[sc]; !ok {
				res.Originals[sc] = v
			}
		}
	}
	res.Exists, res.Addresses = simulate(obs.Link, done)
	res.Addresses = Reported(res.Addresses, append(slices.Clone(spec.Previous), spec.Addresses...), spec.Exclusive)

	if se != nil && se.Step.Op == OpSetSysctl && !slices.ContainsFunc(done, isAddressStep) {
		// Fail closed: a sysctl that suppresses ARP (or keeps secondaries) could not be set.
		// Nothing was added yet (sysctls come first), so every VIP is in res.Addresses. A sysctl
		// being restored after the address changes is not a reason to remove VIPs.
		vips := res.Addresses
		var steps []Step
		for _, p := range vips {
			steps = append(steps, Step{Op: OpDelAddress, Prefix: p})
		}
		cause := fmt.Errorf("cannot set %s to %d: %w", se.Step.Sysctl, se.Step.Value, se.Err)
		if len(steps) == 0 {
			applyErr = fmt.Errorf("%w; no address was added to %s (fail closed)", cause, spec.Name)
		} else if err := t.Apply(ctx, spec.Name, steps); err != nil {
			applyErr = fmt.Errorf("%w; removing the %d addresses of %s so that none is reachable without ARP suppression also failed: %v",
				cause, len(steps), spec.Name, err)
			var se2 *StepError
			if errors.As(err, &se2) {
				res.Addresses = vips[se2.Index:]
			} else {
				res.Unknown = true
			}
		} else {
			applyErr = fmt.Errorf("%w; removed all %d addresses from %s so that none is reachable without ARP suppression (fail closed)",
				cause, len(steps), spec.Name)
			res.Addresses = nil
		}
		applyErr = fmt.Errorf("%w. Check that every arp_interfaces entry names an existing interface and that /proc/sys is writable", applyErr)
	} else if se != nil {
		applyErr = fmt.Errorf("interface %s: %w", spec.Name, se)
	}
	if res.Exists && res.Index == 0 && se == nil && applied.Index > 0 {
		// The link was just created and the target reported its index with the apply's answer.
		res.Index = applied.Index
	}
	if res.Exists && res.Index == 0 {
		// The link was just created: its index is only known by asking.
		if now, err := t.Observe(ctx, spec.Name, nil); err == nil {
			res.Exists, res.Index = now.Link.Exists, now.Link.Index
			if se != nil {
				res.Addresses = Reported(now.Link.Addresses, append(slices.Clone(spec.Previous), spec.Addresses...), spec.Exclusive)
			}
		}
	}
	return res, applyErr
}

func isAddressStep(s Step) bool { return s.Op == OpAddAddress || s.Op == OpDelAddress }

// simulate applies the address and link steps to what was observed.
func simulate(link Link, steps []Step) (exists bool, addrs []netip.Prefix) {
	exists = link.Exists
	addrs = slices.Clone(link.Addresses)
	for _, s := range steps {
		switch s.Op {
		case OpCreateDummy:
			exists = true
		case OpDeleteLink:
			exists, addrs = false, nil
		case OpAddAddress:
			addrs = append(addrs, s.Prefix)
		case OpDelAddress:
			addrs = slices.DeleteFunc(addrs, func(p netip.Prefix) bool { return p == s.Prefix })
		}
	}
	return exists, addrs
}

// Destroy removes the boot files of name (and the shared ones with the last of them), then the
// dummy interface name, then restores the ARP sysctls in orig (plus those its alias records) to
// their original values, except those another managed dummy still needs.
// It refuses to delete a link that is not a dummy.
func Destroy(ctx context.Context, t Target, name IfName, orig Originals) error {
	if _, err := ParseIfName(string(name)); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := destroyOnce(ctx, t, name, orig)
		if !errors.Is(err, ErrChanged) || attempt == changeRetries {
			return err
		}
	}
}

// destroyOnce observes, plans and applies a destroy once (see convergeOnce).
func destroyOnce(ctx context.Context, t Target, name IfName, orig Originals) error {
	obs, err := t.Observe(ctx, name, orig.Sorted())
	if err != nil {
		return fmt.Errorf("reading interface %s: %w", name, err)
	}
	all := Originals{}
	for sc, v := range orig {
		all[sc] = v
	}
	if obs.Link.Exists {
		if obs.Link.Kind != "dummy" {
			return &NotDummyError{Name: name, Kind: obs.Link.Kind}
		}
		// The alias may name sysctls that private state lacks (an imported interface).
		if _, own, ok := ParseAlias(obs.Link.Alias); ok {
			extra := false
			for sc, v := range own {
				if _, have := all[sc]; !have {
					all[sc], extra = v, true
				}
			}
			if extra {
				if obs, err = t.Observe(ctx, name, all.Sorted()); err != nil {
					return fmt.Errorf("reading interface %s: %w", name, err)
				}
			}
		}
	}
	covered, _ := peers(obs, name)
	// The boot files go first, so that a reboot during the destroy never brings the interface back.
	steps := removeBoot(name, obs.Boot)
	if obs.Link.Exists {
		// The link goes first: its VIPs go with it, before ARP suppression is relaxed.
		steps = append(steps, Step{Op: OpDeleteLink})
	}
	for _, sc := range all.Sorted() {
		if covered[sc.Interface] {
			continue
		}
		if cur, ok := obs.Sysctls[sc]; ok && cur != all[sc] {
			steps = append(steps, Step{Op: OpSetSysctl, Sysctl: sc, Value: all[sc]})
		}
	}
	if len(steps) == 0 {
		return nil
	}
	if err := applyChecked(ctx, t, name, obs, all.Sorted(), steps); err != nil {
		return fmt.Errorf("destroying interface %s: %w", name, err)
	}
	return nil
}

func toSet(ps []netip.Prefix) map[netip.Prefix]bool {
	m := make(map[netip.Prefix]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// CanonicalString is how an address is written in state and in diagnostics: the bare address
// for a host prefix (/32, /128), address/length otherwise, IPv6 lower case and compressed.
func CanonicalString(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

// ParseAddress reads an address as users write it: a bare IP (a /32 or /128) or address/length.
// Host bits are kept (192.0.2.1/24 is the address 192.0.2.1 with a /24 subnet).
func ParseAddress(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or address/prefix-length: %w", s, err)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or address/prefix-length: %w", s, err)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("address %s has a zone; interface addresses cannot", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if err := ValidPrefix(p); err != nil {
		return netip.Prefix{}, err
	}
	return p, nil
}
