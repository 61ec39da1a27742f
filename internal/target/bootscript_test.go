//go:build linux

package target

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBootScript runs the boot script (bootfiles/boot.sh) against a real kernel, in a new network
// and mount namespace of this machine (root needed): state files of two interfaces, one of which
// names an interface that does not exist. The first gets its sysctls, then its link, then its
// VIPs; the second gets no VIP (fail closed), and the journal lines say so. A second run (the unit
// restarted by hand) changes nothing and fails the same way. This machine's kernel has no dummy
// driver, so an `ip` wrapper creates a bridge where the state file says dummy; everything else is
// the real ip and the real /proc/sys of the namespace.
func TestBootScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network and mount namespaces)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	ipPath, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs ip (iproute2)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	states := filepath.Join(dir, "states")
	for _, d := range []string{bin, states} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrapper := "#!/bin/sh\nif [ \"$1\" = -batch ]; then sed 's/type dummy/type bridge/' | " + ipPath + " -batch -; else exec " + ipPath + " \"$@\"; fi\n"
	script := strings.Replace(bootScript, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin", 1)
	script = strings.Replace(script, "dir=/etc/vip-dummy-interfaces", "dir="+states, 1)
	script = strings.Replace(script, "[ $i -lt 50 ]", "[ $i -lt 5 ]", 1) // 1 s instead of 10 for the missing interface
	good := Spec{Name: "vipb0", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::1/128")},
		ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []IfName{"all", "lo"}}
	bad := Spec{Name: "vipb1", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.2/32")},
		ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []IfName{"nosuch9"}}
	for name, content := range map[string]string{
		filepath.Join(bin, "ip"):            wrapper,
		filepath.Join(dir, "boot.sh"):       script,
		filepath.Join(states, "vipb0.conf"): StateFile(good, "terraform-provider-vip:all=0/0,lo=0/0"),
		filepath.Join(states, "vipb1.conf"): StateFile(bad, "terraform-provider-vip:nosuch9=0/0"),
		filepath.Join(states, "README.txt"): "not a state file\n",
		filepath.Join(dir, "run-twice.sh"):  "ip link set lo up\nsh " + filepath.Join(dir, "boot.sh") + "; echo rc=$?\nsh " + filepath.Join(dir, "boot.sh") + "; echo rc=$?\n" + ipPath + " -o addr show\n" + ipPath + " -o -d link show\ncat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/lo/arp_announce\n",
	} {
		if err := os.WriteFile(name, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("unshare", "-n", "sh", filepath.Join(dir, "run-twice.sh")).CombinedOutput()
	if err != nil {
		t.Fatalf("unshare -n: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("%s", text)
	first := strings.SplitN(text, "rc=", 2)[0]
	order := []string{"set net.ipv4.conf.all.arp_ignore=1", "set net.ipv4.conf.lo.arp_announce=2",
		"set net.ipv4.conf.vipb0.promote_secondaries=1", "vipb0: 2 VIPs added",
		"cannot set net.ipv4.conf.nosuch9.arp_ignore=1", "vipb1: ARP sysctls not set, so no VIP added (fail closed)"}
	at := 0
	for _, want := range order {
		i := strings.Index(first[at:], want)
		if i < 0 {
			t.Fatalf("the first run's journal lacks %q after %q", want, first[:at])
		}
		at += i + len(want)
	}
	if strings.Count(text, "rc=1") != 2 {
		t.Errorf("want both runs to fail (vipb1 has no ARP sysctls)")
	}
	for _, want := range []string{" vipb0    inet 192.0.2.1/32 ", " vipb0    inet6 2001:db8::1/128 ", "alias terraform-provider-vip:all=0/0,lo=0/0", "\n1\n2\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "192.0.2.2") {
		t.Errorf("vipb1 got its VIP although its ARP sysctls could not be set")
	}
}
