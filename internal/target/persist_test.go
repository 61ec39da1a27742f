package target

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func persisted(t *testing.T, name string, addrs ...string) Spec {
	s := spec(t, name, addrs...)
	s.Persist = true
	return s
}

// index of the first step whose text starts with prefix, -1 if none.
func stepAt(steps []string, prefix string) int {
	return slices.IndexFunc(steps, func(s string) bool { return strings.HasPrefix(s, prefix) })
}

func TestPersistCreateOrder(t *testing.T) {
	h := newFakeHost()
	res, err := Converge(context.Background(), h, persisted(t, "vip0", "192.0.2.1", "2001:db8::1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Persisted {
		t.Error("Persisted is false after a successful apply")
	}
	got := ops(h.applies[0])
	// Adding: ARP sysctls, then the addresses, then the boot files; the unit is enabled last.
	sysctl, add, write, link := stepAt(got, "set sysctl net.ipv4.conf.all"), stepAt(got, "add address"), stepAt(got, "write"), stepAt(got, "link ")
	if sysctl < 0 || add < sysctl || write < add || link != len(got)-1 {
		t.Fatalf("order: %q", got)
	}
	for _, p := range []string{BootScriptPath, StatePath("vip0"), NetworkdPath("vip0"), SysctlDPath, BootUnitPath} {
		if _, ok := h.boot.Files[p]; !ok {
			t.Errorf("%s not written", p)
		}
	}
	if _, ok := h.boot.Files[NMPath("vip0")]; ok {
		t.Error("NetworkManager file written on a host without NetworkManager")
	}
	if h.reloads != 1 {
		t.Errorf("%d daemon-reloads, want 1", h.reloads)
	}
	st := h.boot.Files[StatePath("vip0")]
	for _, want := range []string{
		"#sysctl all arp_ignore 1\n#sysctl all arp_announce 2\n#sysctl vip0 promote_secondaries 1\nlink add name vip0 type dummy\n",
		"address replace 192.0.2.1/32 dev vip0\naddress replace 2001:db8::1/128 dev vip0 nodad\n",
		"link set dev vip0 alias terraform-provider-vip:all=0/0\n",
	} {
		if !strings.Contains(st, want) {
			t.Errorf("state file lacks %q:\n%s", want, st)
		}
	}
	if !BootMatches(persisted(t, "vip0", "2001:db8::1", "192.0.2.1"), h.links["vip0"].alias, h.boot) {
		t.Error("BootMatches is false right after the apply")
	}
	// A second apply changes nothing.
	if _, err := Converge(context.Background(), h, persisted(t, "vip0", "192.0.2.1", "2001:db8::1")); err != nil || len(h.applies) != 1 {
		t.Fatalf("second apply: %v, %d applies", err, len(h.applies))
	}
}

func TestPersistRemoveOrder(t *testing.T) {
	h := newFakeHost()
	if _, err := Converge(context.Background(), h, persisted(t, "vip0", "192.0.2.1", "192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	s := persisted(t, "vip0", "192.0.2.3")
	s.Previous = prefixes(t, "192.0.2.1", "192.0.2.2")
	if _, err := Converge(context.Background(), h, s); err != nil {
		t.Fatal(err)
	}
	got := ops(h.applies[1])
	// The new address before the boot file, the boot file before the removals.
	add, write, del := stepAt(got, "add address 192.0.2.3"), stepAt(got, "write "+StatePath("vip0")), stepAt(got, "remove address")
	if add < 0 || write < add || del < write {
		t.Fatalf("order: %q", got)
	}
	if stepAt(got, "write "+BootUnitPath) >= 0 || h.reloads != 1 {
		t.Errorf("the unedited unit was rewritten: %q", got)
	}
}

func TestPersistOffAndDestroy(t *testing.T) {
	h := newFakeHost()
	h.boot.NetworkManager = true
	for _, n := range []string{"vip0", "vip1"} {
		if _, err := Converge(context.Background(), h, persisted(t, n, "192.0.2.1")); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := h.boot.Files[NMPath("vip1")]; !ok {
		t.Fatal("no NetworkManager file on a host with NetworkManager")
	}
	// persist = false on vip0: its files go, the shared ones stay for vip1.
	off := spec(t, "vip0", "192.0.2.1")
	off.Previous = off.Addresses
	res, err := Converge(context.Background(), h, off)
	if err != nil || res.Persisted {
		t.Fatalf("persist off: %v, persisted %v", err, res.Persisted)
	}
	for _, p := range []string{StatePath("vip0"), NetworkdPath("vip0"), NMPath("vip0")} {
		if _, ok := h.boot.Files[p]; ok {
			t.Errorf("%s still there", p)
		}
	}
	if _, ok := h.boot.Files[BootUnitPath]; !ok || h.boot.Links[BootWantsPath] == "" {
		t.Error("shared files removed while vip1 still needs them")
	}
	// Destroying vip1, the last one: the symlink first, then the files, then the link.
	if err := Destroy(context.Background(), h, "vip1", nil); err != nil {
		t.Fatal(err)
	}
	got := ops(h.applies[len(h.applies)-1])
	if got[0] != "remove "+BootWantsPath || stepAt(got, "delete link") < stepAt(got, "remove "+BootUnitPath) {
		t.Fatalf("destroy order: %q", got)
	}
	if len(h.boot.Files) != 0 || len(h.boot.Links) != 0 {
		t.Errorf("left behind: %v %v", h.boot.Files, h.boot.Links)
	}
}

func TestPersistNoSystemd(t *testing.T) {
	h := newFakeHost()
	h.boot.Systemd = false
	_, err := Converge(context.Background(), h, persisted(t, "vip0", "192.0.2.1"))
	if !errors.As(err, new(NoSystemdError)) {
		t.Fatalf("err = %v, want NoSystemdError", err)
	}
	if len(h.applies) != 0 {
		t.Errorf("changed the host: %q", ops(h.applies[0]))
	}
}

// An existing interface (persist = false so far) asked to persist, with more addresses and other
// ARP values, on a host without systemd: refused before any step, the host as it was, and the
// result says what the host has and that it runs no systemd (so the provider can refuse at plan).
func TestPersistNoSystemdExisting(t *testing.T) {
	h := newFakeHost()
	h.boot.Systemd = false
	if _, err := Converge(context.Background(), h, spec(t, "vip0", "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	before := len(h.applies)
	sysctls := maps.Clone(h.sysctls)
	s := persisted(t, "vip0", "192.0.2.1", "192.0.2.2")
	s.Previous = prefixes(t, "192.0.2.1")
	s.ARPIgnore = 2
	res, err := Converge(context.Background(), h, s)
	if !errors.As(err, new(NoSystemdError)) {
		t.Fatalf("err = %v, want NoSystemdError", err)
	}
	if len(h.applies) != before {
		t.Errorf("changed the host: %q", ops(h.applies[before]))
	}
	if !maps.Equal(h.sysctls, sysctls) || !sameSet(h.links["vip0"].addrs, prefixes(t, "192.0.2.1")) || len(h.boot.Files) != 0 {
		t.Errorf("host changed: sysctls %v, addresses %v, files %v", h.sysctls, h.links["vip0"].addrs, h.boot.Files)
	}
	if res.Persisted || !res.SystemdKnown || res.Systemd || !sameSet(res.Addresses, prefixes(t, "192.0.2.1")) {
		t.Errorf("result %+v", res)
	}
}

func TestPersistUnwritable(t *testing.T) {
	h := newFakeHost()
	h.readOnlyFS[BootDir] = true
	res, err := Converge(context.Background(), h, persisted(t, "vip0", "192.0.2.1"))
	if err == nil || !strings.Contains(err.Error(), BootScriptPath) {
		t.Fatalf("err = %v, want one naming %s", err, BootScriptPath)
	}
	if res.Persisted || !sameSet(res.Addresses, prefixes(t, "192.0.2.1")) {
		t.Errorf("result %+v: want the address on the link and not persisted", res)
	}
	h.readOnlyFS[BootDir] = false
	s := persisted(t, "vip0", "192.0.2.1")
	s.Previous = res.Addresses
	if res, err = Converge(context.Background(), h, s); err != nil || !res.Persisted {
		t.Fatalf("second apply: %v, persisted %v", err, res.Persisted)
	}
}

func TestBootMatchesDrift(t *testing.T) {
	h := newFakeHost()
	s := persisted(t, "vip0", "192.0.2.1")
	if _, err := Converge(context.Background(), h, s); err != nil {
		t.Fatal(err)
	}
	alias := h.links["vip0"].alias
	for name, edit := range map[string]func(*BootFiles){
		"state edited":    func(b *BootFiles) { b.Files[StatePath("vip0")] += "address replace 192.0.2.9/32 dev vip0\n" },
		"state deleted":   func(b *BootFiles) { delete(b.Files, StatePath("vip0")) },
		"unit disabled":   func(b *BootFiles) { delete(b.Links, BootWantsPath) },
		"sysctl.d edited": func(b *BootFiles) { b.Files[SysctlDPath] = "net.ipv4.conf.all.arp_ignore = 0\n" },
		"no systemd":      func(b *BootFiles) { b.Systemd = false },
	} {
		bf := BootFiles{Systemd: true, Files: map[string]string{}, Links: map[string]string{}}
		for k, v := range h.boot.Files {
			bf.Files[k] = v
		}
		for k, v := range h.boot.Links {
			bf.Links[k] = v
		}
		edit(&bf)
		if BootMatches(s, alias, bf) {
			t.Errorf("%s: BootMatches is true", name)
		}
	}
	other := persisted(t, "vip0", "192.0.2.2")
	if BootMatches(other, alias, h.boot) {
		t.Error("BootMatches is true for other addresses")
	}
}

func TestBootPathAllowed(t *testing.T) {
	for _, p := range []string{BootUnitPath, BootWantsPath, SysctlDPath, BootScriptPath, StatePath("vip-0.a@b+"), NetworkdPath("v"), NMPath("v")} {
		if !BootPathAllowed(p) {
			t.Errorf("%s refused", p)
		}
	}
	for _, p := range []string{"/etc/passwd", BootDir + "/../passwd.conf", BootDir + "/a/b.conf", BootDir + "/.conf",
		"/etc/systemd/network/00-vip-x y.network", BootDir + "/" + strings.Repeat("a", 16) + ".conf"} {
		if BootPathAllowed(p) {
			t.Errorf("%s allowed", p)
		}
	}
}
