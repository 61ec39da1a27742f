package sshhost

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// TestHelperRefusesHostileBootSteps: file steps that reach other files, smuggle content or break
// the line framing are refused as a whole, before anything runs.
func TestHelperRefusesHostileBootSteps(t *testing.T) {
	canary := filepath.Join(t.TempDir(), "pwned")
	state := target.StatePath("vip0")
	bad := []string{
		"vip-helper 1\napply vip0\nwrite /etc/passwd 1\n|root::0:0::/:/bin/sh\nend\n",
		"vip-helper 1\napply vip0\nwrite /etc/vip-dummy-interfaces/../passwd.conf 1\n|x\nend\n",
		"vip-helper 1\napply vip0\nwrite /etc/vip-dummy-interfaces/a/b.conf 1\n|x\nend\n",
		"vip-helper 1\napply vip0\nwrite " + state + " 2\n|one line only\nend\n",            // count too high: end is no content
		"vip-helper 1\napply vip0\nwrite " + state + " 1\n|x\n|y\nend\n",                    // count too low: |y is no op
		"vip-helper 1\napply vip0\nwrite " + state + " 1\nx\nend\n",                         // content without |
		"vip-helper 1\napply vip0\nwrite " + state + " 1\n|\x1b[2J\nend\n",                  // control character
		"vip-helper 1\napply vip0\nwrite " + state + " 1\n|caf\xc3\xa9\nend\n",              // non-ASCII
		"vip-helper 1\napply vip0\nwrite " + state + " 0\nend\n",                            // empty
		"vip-helper 1\napply vip0\nwrite " + state + " 1;touch " + canary + "\n|x\nend\n",   // injection in the count
		"vip-helper 1\napply vip0\nsymlink " + target.BootWantsPath + " /etc/shadow\nend\n", // other link target
		"vip-helper 1\napply vip0\nsymlink /etc/passwd ../" + target.BootUnitName + "\nend\n",
		"vip-helper 1\napply vip0\nremove /etc/shadow\nend\n",
		"vip-helper 1\napply vip0\nremove " + state + " now\nend\n",
		"vip-helper 1\napply vip0\nreload now\nend\n",
		"vip-helper 1\nobserve vip0\nremove " + state + "\nend\n", // apply op in observe
	}
	assertRefused(t, canary, bad)
}

// TestBootStepsEncodeParse: what EncodeApply sends for a file is what the helper's observe answer
// gives back, spaces, tabs and empty lines included.
func TestBootStepsEncodeParse(t *testing.T) {
	content := "# a  comment\n\n\tindented $(not run) 'q' \"d\" \\\nlast\n"
	req, err := EncodeApply("vip0", []target.Step{
		{Op: target.OpWriteFile, Path: target.StatePath("vip0"), Content: content},
		{Op: target.OpSymlink, Path: target.BootWantsPath, Content: "../" + target.BootUnitName},
		{Op: target.OpDaemonReload},
		{Op: target.OpRemoveFile, Path: target.NMPath("vip0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "write " + target.StatePath("vip0") + " 4\n|# a  comment\n|\n|\tindented $(not run) 'q' \"d\" \\\n|last\n"
	if !strings.Contains(string(req), want) {
		t.Fatalf("request:\n%s\nlacks:\n%s", req, want)
	}
	answer := "boot systemd\nfile " + target.StatePath("vip0") + "\n|# a  comment\n|\n|\tindented $(not run) 'q' \"d\" \\\n|last\nendfile\n" +
		"file " + target.SysctlDPath + "\n|x\n~no newline\nendfile\nlink " + target.BootWantsPath + " ../" + target.BootUnitName + "\ndone\n"
	bf, err := parseBoot(answer)
	if err != nil {
		t.Fatal(err)
	}
	if !bf.Systemd || bf.NetworkManager || bf.Files[target.StatePath("vip0")] != content || bf.Files[target.SysctlDPath] != "x\nno newline" ||
		bf.Links[target.BootWantsPath] != "../"+target.BootUnitName {
		t.Fatalf("parsed %+v", bf)
	}
	if _, err := EncodeApply("vip0", []target.Step{{Op: target.OpWriteFile, Path: "/etc/passwd", Content: "x\n"}}); err == nil {
		t.Error("EncodeApply accepted a write to /etc/passwd")
	}
}

// TestHelperBootFilesRoundTrip writes the real boot files with the helper and reads them back
// with its observe, through every local POSIX shell, in a private mount namespace whose /etc is
// an empty tmpfs (root needed): what the observe reports is byte for byte what was written
// (backslashes, quotes, tabs and all), the unit is linked, and removal leaves nothing.
func TestHelperBootFilesRoundTrip(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a mount namespace)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	spec := target.Spec{Name: "vip0", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")},
		ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []target.IfName{"all"}, Persist: true}
	steps, err := target.PlanBoot(spec, "terraform-provider-vip:all=0/0", target.BootFiles{Systemd: true, NetworkManager: true})
	if err != nil {
		t.Fatal(err)
	}
	var writes []target.Step
	for _, s := range steps {
		if s.Op != target.OpDaemonReload { // no systemd to reload here
			writes = append(writes, s)
		}
	}
	apply, err := EncodeApply("vip0", writes)
	if err != nil {
		t.Fatal(err)
	}
	observe, err := EncodeObserve("vip0", nil)
	if err != nil {
		t.Fatal(err)
	}
	remove, err := EncodeApply("vip0", target.PlanBootRemoval("vip0", target.BootFiles{Files: map[string]string{
		target.StatePath("vip0"): "", target.NetworkdPath("vip0"): "", target.NMPath("vip0"): "", target.BootUnitPath: "",
		target.BootScriptPath: "", target.SysctlDPath: ""}, Links: map[string]string{target.BootWantsPath: ""}}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"helper": []byte(Script), "apply": apply, "observe": observe, "remove": remove} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, sh := range shells(t, false) {
		// NetworkManager's directory exists, so the helper reports it and the file is kept.
		script := "set -e; mount -t tmpfs tmpfs /etc; mkdir -p /etc/NetworkManager; cd " + dir + "\n" +
			sh + " -c \"$(cat helper)\" <apply >out.apply\n" +
			sh + " -c \"$(cat helper)\" <observe >out.observe\n" +
			sh + " -c \"$(cat helper)\" <remove >out.remove\n" +
			sh + " -c \"$(cat helper)\" <observe >out.after\n"
		if out, err := exec.Command("unshare", "-m", "sh", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", sh, err, out)
		}
		read := func(name string) string {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if got := read("out.apply"); got != protocolHeader+"\ndone\n" {
			t.Fatalf("%s: apply answered %q", sh, got)
		}
		view, err := parseObserve([]byte(read("out.observe")))
		if err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		if !view.boot.NetworkManager || view.boot.Systemd {
			t.Errorf("%s: boot flags %+v", sh, view.boot)
		}
		if !target.BootMatches(spec, "terraform-provider-vip:all=0/0", target.BootFiles{Systemd: true, NetworkManager: true,
			Files: view.boot.Files, Links: view.boot.Links}) {
			for _, s := range writes {
				if got := view.boot.Files[s.Path]; s.Op == target.OpWriteFile && got != s.Content {
					t.Errorf("%s: %s reads back as\n%q\nwant\n%q", sh, s.Path, got, s.Content)
				}
			}
			t.Errorf("%s: the files read back do not match what was written (links %v)", sh, view.boot.Links)
		}
		after, err := parseObserve([]byte(read("out.after")))
		if err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		if len(after.boot.Files)+len(after.boot.Links) != 0 {
			t.Errorf("%s: left after removal: %v %v", sh, after.boot.Files, after.boot.Links)
		}
	}
}
