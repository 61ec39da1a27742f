package target

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"path"
	"slices"
)

// fakeLink and fakeHost model what the convergence logic relies on from a host. The kernel's own
// behaviour (secondaries, dummy kind) is tested against a real kernel in netlinkhost.
type fakeLink struct {
	kind  string
	up    bool
	index int
	alias string
	addrs []netip.Prefix
}

type fakeHost struct {
	links      map[IfName]*fakeLink
	sysctls    map[Sysctl]int
	readOnly   map[Sysctl]bool
	nextIndex  int
	applies    [][]Step
	observes   int
	failAfterN int // fail Apply with a transport error when > 0 and this many steps ran
	boot       BootFiles
	readOnlyFS map[string]bool // directories whose files cannot be written
	reloads    int
	refuse     error // returned by Apply before any step runs, when set
	// beforeApply, when set, runs at the start of every Apply: another writer changing the host
	// between a run's observe and its apply.
	beforeApply func()
	changed     int // applies refused by a failed expectation
}

func newFakeHost() *fakeHost {
	h := &fakeHost{links: map[IfName]*fakeLink{}, sysctls: map[Sysctl]int{}, readOnly: map[Sysctl]bool{}, nextIndex: 10,
		boot: BootFiles{Systemd: true, Files: map[string]string{}, Links: map[string]string{}}, readOnlyFS: map[string]bool{}}
	for _, ifn := range []string{"all", "default", "eth0"} {
		h.sysctls[Sysctl{ifn, KeyARPIgnore}] = 0
		h.sysctls[Sysctl{ifn, KeyARPAnnounce}] = 0
	}
	h.links["eth0"] = &fakeLink{kind: "", up: true, index: 2}
	return h
}

func (h *fakeHost) Observe(_ context.Context, name IfName, sysctls []Sysctl) (Observation, error) {
	h.observes++
	obs := Observation{Sysctls: map[Sysctl]int{}, Managed: map[IfName]string{}}
	if l, ok := h.links[name]; ok {
		obs.Link = Link{Exists: true, Kind: l.kind, Index: l.index, Up: l.up, Addresses: slices.Clone(l.addrs), Alias: l.alias}
	}
	for _, sc := range sysctls {
		if v, ok := h.sysctls[sc]; ok {
			obs.Sysctls[sc] = v
		}
	}
	for n, l := range h.links {
		if len(l.alias) >= len(AliasPrefix) && l.alias[:len(AliasPrefix)] == AliasPrefix {
			obs.Managed[n] = l.alias
		}
	}
	obs.Boot = BootFiles{Systemd: h.boot.Systemd, NetworkManager: h.boot.NetworkManager,
		Files: maps.Clone(h.boot.Files), Links: maps.Clone(h.boot.Links)}
	return obs, nil
}

var errTransport = errors.New("connection lost")

func (h *fakeHost) Apply(ctx context.Context, name IfName, steps []Step) error {
	if h.refuse != nil {
		return h.refuse
	}
	if h.beforeApply != nil {
		h.beforeApply()
	}
	// The expectation checks, as a real host runs them under its lock.
	obs, _ := h.Observe(ctx, name, ExpectedSysctls(steps))
	h.observes--
	rest, err := CheckExpectations(obs, steps)
	if err != nil {
		h.changed++
		return err
	}
	checks := len(steps) - len(rest)
	h.applies = append(h.applies, slices.Clone(rest))
	for i, s := range rest {
		if h.failAfterN > 0 && i == h.failAfterN {
			return errTransport
		}
		if err := h.step(name, s); err != nil {
			return &StepError{Index: checks + i, Step: s, Err: err}
		}
	}
	return nil
}

func (h *fakeHost) step(name IfName, s Step) error {
	if err := ValidateBootStep(s); err != nil {
		return err
	}
	switch s.Op {
	case OpWriteFile, OpSymlink, OpRemoveFile:
		if h.readOnlyFS[path.Dir(s.Path)] {
			return fmt.Errorf("open %s: read-only file system", s.Path)
		}
		delete(h.boot.Files, s.Path)
		delete(h.boot.Links, s.Path)
		switch s.Op {
		case OpWriteFile:
			h.boot.Files[s.Path] = s.Content
		case OpSymlink:
			h.boot.Links[s.Path] = s.Content
		}
		return nil
	case OpDaemonReload:
		h.reloads++
		return nil
	}
	l := h.links[name]
	if l == nil && s.Op != OpCreateDummy && s.Op != OpSetSysctl {
		return fmt.Errorf("no such device")
	}
	switch s.Op {
	case OpCreateDummy:
		if l != nil {
			return fmt.Errorf("file exists")
		}
		h.nextIndex++
		h.links[name] = &fakeLink{kind: "dummy", index: h.nextIndex}
		h.sysctls[Sysctl{string(name), KeyARPIgnore}] = 0
		h.sysctls[Sysctl{string(name), KeyARPAnnounce}] = 0
		h.sysctls[Sysctl{string(name), KeyPromoteSecondaries}] = 0
	case OpSetUp:
		l.up = true
	case OpSetAlias:
		l.alias = s.Alias
	case OpSetSysctl:
		if _, ok := h.sysctls[s.Sysctl]; !ok {
			return fmt.Errorf("open %s: %w", s.Sysctl.Path(), fs.ErrNotExist)
		}
		if h.readOnly[s.Sysctl] {
			return fmt.Errorf("open %s: read-only file system", s.Sysctl.Path())
		}
		h.sysctls[s.Sysctl] = s.Value
	case OpAddAddress:
		if slices.Contains(l.addrs, s.Prefix) {
			return fmt.Errorf("file exists")
		}
		l.addrs = append(l.addrs, s.Prefix)
	case OpDelAddress:
		i := slices.Index(l.addrs, s.Prefix)
		if i < 0 {
			return fmt.Errorf("cannot assign requested address")
		}
		l.addrs = slices.Delete(l.addrs, i, i+1)
	case OpDeleteLink:
		delete(h.links, name)
		for sc := range h.sysctls {
			if sc.Interface == string(name) {
				delete(h.sysctls, sc)
			}
		}
	default:
		return fmt.Errorf("unknown op %v", s.Op)
	}
	return nil
}
