//go:build linux

package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// fleetAnsible makes the same change with ansible-playbook: one task per host that sets the ARP
// sysctls and then feeds exactly the wanted VIPs (and the removal of the others) to `ip -batch`,
// on an interface of its own (vipa0, next to ours) so that the two never fight.
type fleetAnsible struct {
	b                        *testing.B
	bin, version             string
	dir, inventory, playbook string
	env                      []string
	runs                     int
	fleet                    *fleetSite
}

// fleetPlaybook is the Ansible side of the benchmark. Check mode cannot run a shell task, so
// `--check --diff` connects to every host and reports the task as skipped: it shows no diff.
const fleetPlaybook = `- name: VIPs on vipa0, ARP sysctls first
  hosts: fleet
  gather_facts: false
  tasks:
    - name: ARP sysctls, then exactly the wanted VIPs through ip -batch
      ansible.builtin.shell:
        cmd: |
          set -e
          sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
          ip link show dev vipa0 >/dev/null 2>&1 || ip link add vipa0 type dummy
          ip link set dev vipa0 up
          { ip -o -4 addr show dev vipa0 | awk '{ print "old", $4 }'; sed 's/^/new /'; } |
            awk '$1 == "old" { old[$2] = 1; next }
                 $2 != "" { want[$2 "/32"] = 1 }
                 END { for (a in old) if (!(a in want)) print "addr del " a " dev vipa0"
                       for (a in want) print "addr replace " a " dev vipa0" }' |
            ip -batch -
        stdin: "{% for i in range(vips | int) %}10.79.{{ idx }}.{{ i + 1 + (shift | int) }}\n{% endfor %}"
`

func newFleetAnsible(b *testing.B, bin string, fleet *fleetSite) *fleetAnsible {
	b.Helper()
	a := &fleetAnsible{b: b, bin: bin, fleet: fleet, dir: filepath.Join(fleet.dir, "ansible")}
	for _, d := range []string{a.dir, filepath.Join(a.dir, "home"), filepath.Join(a.dir, "local"), filepath.Join(a.dir, "remote")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	var inv strings.Builder
	inv.WriteString("[fleet]\n")
	for i, h := range fleet.hosts {
		fmt.Fprintf(&inv, "h%d ansible_host=%s idx=%d\n", i, h, i)
	}
	fmt.Fprintf(&inv, "\n[fleet:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n"+
		"ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes'\n"+
		"ansible_python_interpreter=/usr/bin/python3\nansible_remote_tmp=%s\nvips=%d\n",
		fleet.key, fleet.knownHosts, filepath.Join(a.dir, "remote"), fleetVIPs)
	a.inventory = filepath.Join(a.dir, "inventory")
	sshtest.WriteFile(b, a.inventory, inv.String(), 0o644)
	a.playbook = filepath.Join(a.dir, "vips.yml")
	sshtest.WriteFile(b, a.playbook, fleetPlaybook, 0o644)
	cfg := filepath.Join(a.dir, "ansible.cfg")
	sshtest.WriteFile(b, cfg, "[defaults]\n", 0o644)
	// Ansible's defaults, but its files in the benchmark's directory (the guest's home is shared
	// over 9p, where ssh cannot make its ControlMaster sockets), a control connection that
	// lingers 5 s instead of 60 s after each run, so that 50 masters per run do not pile up, and
	// the provider's SSH timeout (300 s) instead of 10 s: under emulation, with 10 forks, some
	// banner exchanges take longer than 10 s.
	a.env = append(os.Environ(), "ANSIBLE_CONFIG="+cfg, "ANSIBLE_HOME="+filepath.Join(a.dir, "home"),
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(a.dir, "local"), fmt.Sprintf("ANSIBLE_FORKS=%d", fleetParallelism),
		"ANSIBLE_HOST_KEY_CHECKING=True", "ANSIBLE_TIMEOUT=300", "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=False",
		"ANSIBLE_SSH_ARGS=-C -o ControlMaster=auto -o ControlPersist=5s")
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		b.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	a.version, _, _ = strings.Cut(string(out), "\n")
	a.version = strings.TrimPrefix(a.version, "ansible-playbook ")
	return a
}

// run runs the playbook with shift, in check mode (--check --diff) when check is set, and fails
// the benchmark unless every host is ok.
func (a *fleetAnsible) run(shift int, check bool) {
	a.b.Helper()
	a.runs++
	// A control-socket directory of its own per run: every run pays for its connections, as each
	// terraform command does.
	cp := filepath.Join(a.dir, fmt.Sprintf("cp%d", a.runs))
	if err := os.Mkdir(cp, 0o700); err != nil {
		a.b.Fatal(err)
	}
	args := []string{"-i", a.inventory, "-e", fmt.Sprintf("shift=%d", shift), a.playbook}
	if check {
		args = append(args, "--check", "--diff")
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Dir, cmd.Env = a.dir, append(a.env, "ANSIBLE_SSH_CONTROL_PATH_DIR="+cp)
	// ansible-playbook exits non-zero when any host failed or was unreachable.
	if out, err := cmd.CombinedOutput(); err != nil {
		a.b.Fatalf("ansible-playbook %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// settle lets the control masters of the last run exit (ControlPersist=5s) before anything else
// is timed; it is not part of any timing.
func (a *fleetAnsible) settle() { time.Sleep(6 * time.Second) }

// verify fails the benchmark unless every host holds exactly the VIPs of shift on vipa0.
func (a *fleetAnsible) verify(shift int) {
	a.b.Helper()
	for i, ns := range a.fleet.netns {
		got := strings.Fields(ns.Exec(a.b, "ip", "-o", "-4", "addr", "show", "dev", "vipa0"))
		n := 0
		for _, f := range got {
			if strings.HasPrefix(f, fmt.Sprintf("10.79.%d.", i)) {
				n++
			}
		}
		if n != fleetVIPs {
			a.b.Fatalf("host %d: vipa0 holds %d addresses, want %d: %s", i, n, fleetVIPs, strings.Join(got, " "))
		}
		for v := 0; v < fleetVIPs; v++ {
			if want := fmt.Sprintf("10.79.%d.%d/32", i, v+1+shift); !strings.Contains(strings.Join(got, " ")+" ", want+" ") {
				a.b.Fatalf("host %d: vipa0 lacks %s", i, want)
			}
		}
	}
}

// seed makes vipa0 on every host directly, with the VIPs of shift and the ARP sysctls, as the
// playbook would.
func (a *fleetAnsible) seed(shift int) {
	a.b.Helper()
	for i, ns := range a.fleet.netns {
		ns.Exec(a.b, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
		var batch strings.Builder
		batch.WriteString("link add vipa0 type dummy\nlink set dev vipa0 up\n")
		for v := 0; v < fleetVIPs; v++ {
			fmt.Fprintf(&batch, "addr add 10.79.%d.%d/32 dev vipa0\n", i, v+1+shift)
		}
		path := filepath.Join(a.dir, "seed.batch")
		sshtest.WriteFile(a.b, path, batch.String(), 0o644)
		ns.Exec(a.b, "ip", "-batch", path)
	}
	a.verify(shift)
}

// remove deletes vipa0 from every host, so that the next round creates it again.
func (a *fleetAnsible) remove() {
	a.b.Helper()
	for _, ns := range a.fleet.netns {
		ns.Exec(a.b, "ip", "link", "del", "vipa0")
	}
}
