package target

import (
	_ "embed"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
)

// What a vip_dummy_interface with persist = true writes on its host so that the interface, its
// addresses and its ARP sysctls come back at boot, ARP sysctls first, whatever manages the host's
// other interfaces. All of it is rendered here, once; the targets only read and write these
// files (targets check every path against BootPathAllowed before touching it).
//
//   - BootUnitPath, a oneshot unit ordered after systemd-sysctl.service and before
//     network-pre.target and sysinit.target, pulled in by sysinit.target (enabled by the symlink
//     BootWantsPath): every service with default dependencies starts after it has ended, so none
//     finds a VIP missing (a web server bound to a VIP, ordered only after basic.target). It runs
//     BootScriptPath, which replays every state file: ARP sysctls of all, the link, per-interface
//     sysctls, then the addresses — no address when a sysctl cannot be set (fail closed).
//   - StatePath(name), one per interface: an `ip -batch` file with "#sysctl" comment lines.
//   - SysctlDPath: the ARP sysctls of all, applied by systemd-sysctl even before the unit runs.
//   - NetworkdPath(name): a .network file that sorts first and marks the dummy Unmanaged, so that
//     systemd-networkd (which takes the first matching file, and flushes addresses it did not
//     configure on links it manages, as a catch-all `Name=*` file would make it do) never touches it.
//   - NMPath(name), when NetworkManager is installed: managed=0 for the dummy.
//
// The files shared by all interfaces (unit, symlink, script, sysctl.d) go with the last state file.
const (
	BootUnitName   = "vip-dummy-interfaces.service"
	BootUnitPath   = "/etc/systemd/system/" + BootUnitName
	BootWantsPath  = "/etc/systemd/system/sysinit.target.wants/" + BootUnitName
	BootDir        = "/etc/vip-dummy-interfaces"
	BootScriptPath = BootDir + "/boot.sh"
	SysctlDPath    = "/etc/sysctl.d/99-vip-dummy-interfaces.conf"
	networkdDir    = "/etc/systemd/network"
	// NMDir is where NetworkManager's configuration lives; NMPath files are written only when it
	// exists.
	NMDir   = "/etc/NetworkManager"
	nmConfD = NMDir + "/conf.d"
)

// StatePath is the state file of interface name.
func StatePath(name IfName) string { return BootDir + "/" + string(name) + ".conf" }

// NetworkdPath is the systemd-networkd file that keeps networkd off interface name.
func NetworkdPath(name IfName) string { return networkdDir + "/00-vip-" + string(name) + ".network" }

// NMPath is the NetworkManager file that keeps NetworkManager off interface name.
func NMPath(name IfName) string { return nmConfD + "/vip-" + string(name) + ".conf" }

// BootGlobs are the patterns of every per-interface boot file: targets report every file that
// matches them (and the shared ones), whatever interface it is for.
var BootGlobs = []string{BootDir + "/*.conf", networkdDir + "/00-vip-*.network", nmConfD + "/vip-*.conf"}

// SharedBootPaths are the files all persisted interfaces of a host share.
var SharedBootPaths = []string{BootUnitPath, BootWantsPath, BootScriptPath, SysctlDPath}

// BootPathAllowed reports whether p is one of the files this provider writes: a shared path, or a
// per-interface path whose interface name is valid.
func BootPathAllowed(p string) bool {
	if slices.Contains(SharedBootPaths, p) {
		return true
	}
	for _, g := range BootGlobs {
		star := strings.IndexByte(g, '*')
		pre, suf := g[:star], g[star+1:]
		if mid, ok := strings.CutPrefix(p, pre); ok {
			if mid, ok = strings.CutSuffix(mid, suf); ok {
				if _, err := ParseIfName(mid); err == nil && path.Base(mid) == mid {
					return true
				}
			}
		}
	}
	return false
}

// BootFiles is what a host has of the boot files.
type BootFiles struct {
	Systemd        bool              // systemd runs as PID 1 (/run/systemd/system exists)
	NetworkManager bool              // NMDir exists
	Files          map[string]string // content of every regular file at a shared path or matching BootGlobs
	Links          map[string]string // target of every symbolic link at those paths
}

// ValidBootContent checks file content before it is handed to a target: printable ASCII, tabs and
// newlines, ending with a newline, at most 64 KiB.
func ValidBootContent(s string) error {
	if len(s) > 64<<10 {
		return fmt.Errorf("file content of %d bytes is too long", len(s))
	}
	if !strings.HasSuffix(s, "\n") {
		return fmt.Errorf("file content does not end with a newline")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 || c > 0x7e) && c != '\n' && c != '\t' {
			return fmt.Errorf("file content has byte %#x at %d", c, i)
		}
	}
	return nil
}

//go:embed bootfiles/boot.sh
var bootScript string

const header = "# Written by terraform-provider-vip (vip_dummy_interface, persist = true). Do not edit: terraform\n" +
	"# plan shows an edit as drift, and apply rewrites this file.\n"

func bootUnit() string {
	return header + `[Unit]
Description=VIPs on dummy interfaces, ARP sysctls first (terraform-provider-vip)
Documentation=https://registry.terraform.io/providers/vip-manager/vip/latest/docs/resources/dummy_interface
DefaultDependencies=no
After=local-fs.target systemd-modules-load.service systemd-sysctl.service
Before=network-pre.target sysinit.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh ` + BootScriptPath + `

[Install]
WantedBy=sysinit.target
`
}

func sysctlD(ignore, announce int) string {
	return header + fmt.Sprintf("# The ARP sysctls of all, for the VIPs that %s adds at boot.\nnet.ipv4.conf.all.arp_ignore = %d\nnet.ipv4.conf.all.arp_announce = %d\n",
		BootUnitName, ignore, announce)
}

func networkdFile(name IfName) string {
	return header + "# systemd-networkd leaves " + string(name) + " alone: it uses the first matching .network file, and on\n" +
		"# a link it manages it removes addresses it did not configure.\n" +
		"[Match]\nName=" + string(name) + "\n\n[Link]\nUnmanaged=yes\n"
}

func nmFile(name IfName) string {
	return header + "# NetworkManager leaves " + string(name) + " and its VIPs alone.\n" +
		"[device-vip-" + string(name) + "]\nmatch-device=interface-name:" + string(name) + "\nmanaged=0\n"
}

// StateFile renders the state file of spec's interface, whose link alias is alias: an `ip -batch`
// file whose "#sysctl" comment lines list the sysctls (all/default ones, set before the link;
// per-interface ones, set before the addresses), addresses in canonical order.
func StateFile(spec Spec, alias string) string {
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, "# Interface %s, replayed at boot by %s (%s).\n", spec.Name, BootUnitName, BootScriptPath)
	for _, sc := range ARPSysctls(spec.ARPInterfaces) {
		v := spec.ARPIgnore
		if sc.Key == KeyARPAnnounce {
			v = spec.ARPAnnounce
		}
		fmt.Fprintf(&b, "#sysctl %s %s %d\n", sc.Interface, sc.Key, v)
	}
	fmt.Fprintf(&b, "#sysctl %s %s 1\n", spec.Name, KeyPromoteSecondaries)
	n := string(spec.Name)
	b.WriteString("link add name " + n + " type dummy\n")
	b.WriteString("link set dev " + n + " addrgenmode none\n")
	if alias != "" {
		b.WriteString("link set dev " + n + " alias " + alias + "\n")
	}
	b.WriteString("link set dev " + n + " up\n")
	addrs := slices.Clone(spec.Addresses)
	slices.SortFunc(addrs, comparePrefix)
	for _, p := range addrs {
		if p.Addr().Is6() {
			b.WriteString("address replace " + p.String() + " dev " + n + " nodad\n")
		} else {
			b.WriteString("address replace " + p.String() + " dev " + n + "\n")
		}
	}
	return b.String()
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// wantedBootFiles are the files and links spec's interface needs, with their content. The
// sysctl.d file is only wanted when spec sets the ARP sysctls of all.
func wantedBootFiles(spec Spec, alias string, nm bool) (files map[string]string, links map[string]string) {
	files = map[string]string{
		BootScriptPath:          bootScript,
		StatePath(spec.Name):    StateFile(spec, alias),
		NetworkdPath(spec.Name): networkdFile(spec.Name),
		BootUnitPath:            bootUnit(),
	}
	if nm {
		files[NMPath(spec.Name)] = nmFile(spec.Name)
	}
	if slices.Contains(spec.ARPInterfaces, "all") {
		files[SysctlDPath] = sysctlD(spec.ARPIgnore, spec.ARPAnnounce)
	}
	links = map[string]string{BootWantsPath: "../" + BootUnitName}
	return files, links
}

// writeOrder is the order files are written in: the script and the interface's own files
// first, the unit and its symlink (which enables it) last.
func writeOrder(name IfName) []string {
	return []string{BootScriptPath, StatePath(name), NetworkdPath(name), NMPath(name), SysctlDPath, BootUnitPath}
}

// BootMatches reports whether the host's boot files recreate exactly spec's interface (with link
// alias alias) at boot: systemd runs, the unit is enabled, and every file is as this provider
// writes it. This is what Read reports as persist.
func BootMatches(spec Spec, alias string, bf BootFiles) bool {
	if !bf.Systemd {
		return false
	}
	files, links := wantedBootFiles(spec, alias, bf.NetworkManager)
	for p, want := range files {
		if got, ok := bf.Files[p]; !ok || got != want {
			return false
		}
	}
	for p, want := range links {
		if bf.Links[p] != want {
			return false
		}
	}
	return true
}

// NoSystemdError is returned when persist is asked on a host that does not run systemd.
type NoSystemdError struct{}

func (NoSystemdError) Error() string {
	return "persist = true needs systemd as the host's init (/run/systemd/system does not exist there); " +
		"nothing was changed. Set persist = false on this host, or recreate the VIPs at boot by other means"
}

// otherStates reports whether the host has a state file of another interface than name.
func otherStates(name IfName, bf BootFiles) bool {
	for p := range bf.Files {
		if rest, ok := strings.CutPrefix(p, BootDir+"/"); ok && strings.HasSuffix(rest, ".conf") && p != StatePath(name) {
			return true
		}
	}
	return false
}

// PlanBoot returns the steps that bring the boot files of spec's interface to what spec wants:
// with spec.Persist, writes of every file that differs (the unit's symlink last, after a
// daemon-reload when the unit changed); without, removals of the interface's files, and of the
// shared ones when no other interface has a state file (the symlink first, so that a half-removed
// set is never enabled).
func PlanBoot(spec Spec, alias string, bf BootFiles) ([]Step, error) {
	if !spec.Persist {
		return removeBoot(spec.Name, bf), nil
	}
	if !bf.Systemd {
		return nil, NoSystemdError{}
	}
	files, links := wantedBootFiles(spec, alias, bf.NetworkManager)
	var steps []Step
	unitChanged := false
	for _, p := range writeOrder(spec.Name) {
		want, ok := files[p]
		if !ok {
			continue
		}
		if got, have := bf.Files[p]; have && got == want {
			continue
		}
		steps = append(steps, Step{Op: OpWriteFile, Path: p, Content: want})
		unitChanged = unitChanged || p == BootUnitPath
	}
	if unitChanged {
		steps = append(steps, Step{Op: OpDaemonReload})
	}
	for p, want := range links {
		if bf.Links[p] != want {
			steps = append(steps, Step{Op: OpSymlink, Path: p, Content: want})
		}
	}
	return steps, nil
}

// PlanBootRemoval returns the steps that remove name's boot files, and the shared ones when no
// other interface has a state file: what Destroy and persist = false do first.
func PlanBootRemoval(name IfName, bf BootFiles) []Step { return removeBoot(name, bf) }

// removeBoot returns the removals of name's boot files, and of the shared ones when no other
// interface has a state file.
func removeBoot(name IfName, bf BootFiles) []Step {
	var steps []Step
	has := func(p string) bool {
		_, f := bf.Files[p]
		_, l := bf.Links[p]
		return f || l
	}
	last := !otherStates(name, bf)
	if last && has(BootWantsPath) {
		steps = append(steps, Step{Op: OpRemoveFile, Path: BootWantsPath})
	}
	for _, p := range []string{StatePath(name), NetworkdPath(name), NMPath(name)} {
		if has(p) {
			steps = append(steps, Step{Op: OpRemoveFile, Path: p})
		}
	}
	if last {
		for _, p := range []string{SysctlDPath, BootScriptPath, BootUnitPath} {
			if has(p) {
				steps = append(steps, Step{Op: OpRemoveFile, Path: p})
			}
		}
		if has(BootUnitPath) && bf.Systemd {
			steps = append(steps, Step{Op: OpDaemonReload})
		}
	}
	return steps
}

func isBootStep(s Step) bool {
	switch s.Op {
	case OpWriteFile, OpSymlink, OpRemoveFile, OpDaemonReload:
		return true
	}
	return false
}
