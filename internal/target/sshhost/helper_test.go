package sshhost

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// localRunner runs the helper with a local shell, as sshd would run `sh -c <Script>`: the real
// helper on the real ip, without SSH. Netns, when set, runs it inside that network namespace.
type localRunner struct {
	shell string // "sh", "bash", "busybox sh"
	// path, when set, is the helper's whole PATH: the helper's own PATH line (system directories
	// first) is replaced, so that a fake ip in a test directory is the one that runs.
	path string
	// loginPath, when set, is the PATH the helper starts with, as sshd would hand it over; the
	// helper's own PATH line stays.
	loginPath string
	netns     string
}

// helperPathLine is the line of Script that sets PATH.
const helperPathLine = "PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH\n"

func (r localRunner) command(ctx context.Context, program string) (*exec.Cmd, error) {
	if r.path != "" {
		if !strings.Contains(program, helperPathLine) {
			return nil, errors.New("the helper's PATH line changed: update helperPathLine")
		}
		program = strings.Replace(program, helperPathLine, "PATH="+r.path+"\n", 1)
	}
	args := append(strings.Fields(r.shell), "-c", program)
	if r.netns != "" {
		args = append([]string{"ip", "netns", "exec", r.netns}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if r.loginPath != "" {
		cmd.Env = append(os.Environ(), "PATH="+r.loginPath)
	}
	return cmd, nil
}

func (r localRunner) Run(ctx context.Context, _ string, program string, stdin []byte) (*sshconn.Result, error) {
	cmd, err := r.command(ctx, program)
	if err != nil {
		return nil, err
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return exitResult(cmd.Run(), stdout.Bytes(), stderr.Bytes())
}

// Exchange is sshconn.Conn.Exchange through pipes to the local shell.
func (r localRunner) Exchange(ctx context.Context, _ string, program string, request []byte, until string, reply sshconn.Reply) (*sshconn.Result, error) {
	cmd, err := r.command(ctx, program)
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	_, _ = in.Write(request) // the helper reads its whole request before it prints more than its header
	answered := false
	buf := make([]byte, 4096)
	for {
		n, rerr := out.Read(buf)
		stdout.Write(buf[:n])
		if i := bytes.Index(stdout.Bytes(), []byte("\n"+until+"\n")); !answered && i >= 0 {
			answered = true
			_, _ = in.Write(reply(bytes.Clone(stdout.Bytes()[:i+len(until)+2])))
			_ = in.Close()
		}
		if rerr != nil {
			break
		}
	}
	_ = in.Close()
	return exitResult(cmd.Wait(), stdout.Bytes(), stderr.Bytes())
}

func exitResult(err error, stdout, stderr []byte) (*sshconn.Result, error) {
	res := &sshconn.Result{Stdout: stdout, Stderr: stderr}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.ExitStatus = ee.ExitCode()
		return res, nil
	}
	return res, err
}

// shells are the local POSIX shells to run the helper with. BusyBox's sh runs its own `ip` applet
// instead of one on PATH, so it is only used where no ip is called (withBusybox).
func shells(t *testing.T, withBusybox bool) []string {
	var out []string
	candidates := []string{"dash", "bash --posix"}
	if withBusybox {
		candidates = append(candidates, "busybox sh")
	}
	for _, s := range candidates {
		if _, err := exec.LookPath(strings.Fields(s)[0]); err == nil {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatal("no shell found")
	}
	return out
}

func TestScriptHasNoSingleQuote(t *testing.T) {
	if strings.ContainsRune(Script, '\'') {
		t.Fatal("helper.sh contains a single quote; it travels inside one")
	}
}

// spy puts a fake `ip` first on PATH that records every call, and returns the record file.
func spy(t *testing.T) (path, record string) {
	dir := t.TempDir()
	record = filepath.Join(dir, "calls")
	fake := "#!/bin/sh\necho \"ip $*\" >> " + record + "\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "ip"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + ":" + os.Getenv("PATH"), record
}

// TestHelperRefusesHostileInput feeds the helper, through every local POSIX shell, requests
// crafted to break out of quoting or to reach other files. Each must be refused as a whole, with
// exit status 3, before anything runs: no ip call, no file created, no command executed.
func TestHelperRefusesHostileInput(t *testing.T) {
	canary := filepath.Join(t.TempDir(), "pwned")
	inj := []string{
		"$(touch " + canary + ")",
		"`touch " + canary + "`",
		";touch " + canary,
		"|touch " + canary,
		"&&touch${IFS}" + canary,
		"x;touch\t" + canary,
		"$(IFS=_;cmd=touch_" + canary + ";$cmd)",
	}
	var bad []string
	for _, v := range inj {
		bad = append(bad,
			"vip-helper 1\napply "+v+"\ncreate\nend\n",
			"vip-helper 1\napply dummy0\nadd "+v+"\nend\n",
			"vip-helper 1\napply dummy0\nadd 192.0.2.1/32 "+v+"\nend\n",
			"vip-helper 1\napply dummy0\nalias "+v+"\nend\n",
			"vip-helper 1\napply dummy0\nsysctl all arp_ignore 1"+v+"\nend\n",
			"vip-helper 1\nobserve dummy0\nsysctl "+v+" arp_ignore\nend\n",
			"vip-helper 1\nobserve dummy0 "+v+"\nend\n",
			"vip-helper 1\nobserve "+v+" dummy0 lo\nend\n",
			"vip-helper 1\nobserve dummy0 vip1\nsysctl all arp_ignore "+v+"\nend\n",
		)
	}
	bad = append(bad,
		"",                                  // nothing
		"vip-helper 2\nobserve lo\nend\n",   // other protocol
		"vip-helper 1\n",                    // truncated
		"vip-helper 1\napply dummy0\nup\n",  // no end: nothing may run
		"vip-helper 1\napply ..\nup\nend\n", // path walk
		"vip-helper 1\napply sixteen-bytes-xx\nup\nend\n",     // too long
		"vip-helper 1\napply -rf\nadd *\nend\n",               // glob
		"vip-helper 1\napply dummy0\nadd /\nend\n",            // not a prefix
		"vip-helper 1\napply dummy0\nadd 1.2.3.4\nend\n",      // no length
		"vip-helper 1\napply dummy0\nadd 1.2.3.4/32/1\nend\n", // two slashes
		"vip-helper 1\napply dummy0\nsysctl ../../../../tmp arp_ignore 1\nend\n",
		"vip-helper 1\napply dummy0\nsysctl all ../../../../../etc/passwd 1\nend\n",
		"vip-helper 1\napply dummy0\nsysctl all forwarding 1\nend\n", // not a key we manage
		"vip-helper 1\napply dummy0\nsysctl all arp_ignore -1\nend\n",
		"vip-helper 1\napply dummy0\nsysctl all arp_ignore 1 2\nend\n", // extra field
		"vip-helper 1\napply dummy0\nup\nup now\nend\n",
		"vip-helper 1\napply dummy0\nreboot\nend\n",             // unknown op
		"vip-helper 1\napply dummy0\nadd 192.0.2.1/32\n\nend\n", // empty line
		"vip-helper 1\napply dummy0\nadd 192.0.2.1/32\nend now\n",
		"vip-helper 1\nobserve dummy0\nadd 192.0.2.1/32\nend\n", // apply op in observe
		"vip-helper 1\napply dummy0\nadd 192.0.2.1/32\x00;touch "+canary+"\nend\n",
		"vip-helper 1\napply dummy0\nalias "+strings.Repeat("a", 256)+"\nend\n",
		"vip-helper 1\napply dummy\xc3\xa9\nup\nend\n", // non-ASCII
		// The multi-name observe form: every name checked, apply keeps one name.
		"vip-helper 1\nobserve\nend\n",                               // no name
		"vip-helper 1\nobserve lo ..\nend\n",                         // path walk in a later name
		"vip-helper 1\nobserve lo sixteen-bytes-xx\nend\n",           // a later name too long
		"vip-helper 1\nobserve lo -rf *\nend\n",                      // glob
		"vip-helper 1\nobserve lo dummy\xc3\xa9\nend\n",              // non-ASCII
		"vip-helper 1\nobserve lo\tdummy0\nend\n",                    // tab is no separator
		"vip-helper 1\nobserve lo dummy0\nadd 192.0.2.1/32\nend\n",   // apply op in observe
		"vip-helper 1\napply dummy0 vip1\nup\nend\n",                 // apply takes one name
		"vip-helper 1\nobserve "+strings.Repeat("a ", 257)+"\nend\n", // more than 256 names
	)
	assertRefused(t, canary, bad)
}

// assertRefused runs each request through the helper under every shell (busybox included) and
// requires a refusal (exit 3 and an error line) that ran no ip and no injected command (canary).
func assertRefused(t *testing.T, canary string, bad []string) {
	t.Helper()
	for _, sh := range shells(t, true) {
		path, record := spy(t)
		r := localRunner{shell: sh, path: path}
		for _, req := range bad {
			res, err := r.Run(context.Background(), "", Script, []byte(req))
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitStatus != 3 || !bytes.Contains(res.Stdout, []byte("\nerror ")) {
				t.Errorf("%s: request %q: exit %d, stdout %q, stderr %q; want refusal", sh, req, res.ExitStatus, res.Stdout, res.Stderr)
			}
			if _, err := os.Stat(canary); err == nil {
				t.Fatalf("%s: request %q executed an injected command", sh, req)
			}
			if calls, err := os.ReadFile(record); err == nil {
				t.Fatalf("%s: request %q ran ip: %s", sh, req, calls)
			}
		}
	}
}

// TestHelperBatches proves, with a recording ip, what the helper runs for a valid apply: one
// `ip -batch -` per run of consecutive ip steps, the values passed as data.
func TestHelperBatches(t *testing.T) {
	for _, sh := range shells(t, false) {
		dir := t.TempDir()
		record := filepath.Join(dir, "calls")
		fake := "#!/bin/sh\necho \"ip $*\" >> " + record + "\nif [ \"$1\" = -batch ]; then cat >> " + record + "; fi\nexit 0\n"
		if err := os.WriteFile(filepath.Join(dir, "ip"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		steps := []target.Step{
			{Op: target.OpCreateDummy},
			{Op: target.OpSetAlias, Alias: "terraform-provider-vip:all=0/0"},
			{Op: target.OpSetUp},
			{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("192.0.2.1/32")},
			{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("2001:db8::1/128")},
			{Op: target.OpDelAddress, Prefix: netip.MustParsePrefix("192.0.2.9/24")},
		}
		h, _ := New(localRunner{shell: sh, path: dir + ":" + os.Getenv("PATH")}, "rs1")
		if err := h.Apply(context.Background(), "vip0", steps); err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		want := "ip link add name vip0 type dummy\n" +
			"ip link set dev vip0 addrgenmode none\n" +
			"ip -batch -\n" +
			"link set dev vip0 alias terraform-provider-vip:all=0/0\n" +
			"link set dev vip0 up\n" +
			"address add 192.0.2.1/32 dev vip0\n" +
			"address add 2001:db8::1/128 dev vip0 nodad\n" +
			"address del 192.0.2.9/24 dev vip0\n"
		if got, _ := os.ReadFile(record); string(got) != want {
			t.Errorf("%s: ip calls:\n%s\nwant:\n%s", sh, got, want)
		}
	}
}

// TestHelperOldIP: an ip without -j is reported as too old, naming the host.
func TestHelperOldIP(t *testing.T) {
	dir := t.TempDir()
	fake := "#!/bin/sh\necho 'Option \"-j\" is unknown, try \"ip -help\".' >&2\nexit 255\n"
	if err := os.WriteFile(filepath.Join(dir, "ip"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	h, _ := New(localRunner{shell: "sh", path: dir + ":" + os.Getenv("PATH")}, "rs1.example:2222")
	_, err := h.Observe(context.Background(), "vip0", nil)
	if err == nil || !strings.Contains(err.Error(), "too old") || !strings.Contains(err.Error(), "rs1.example:2222") {
		t.Fatalf("got %v", err)
	}
}

// TestHelperObserveLocal reads lo with the real ip.
func TestHelperObserveLocal(t *testing.T) {
	for _, sh := range shells(t, false) {
		h, _ := New(localRunner{shell: sh}, "rs1")
		sc := []target.Sysctl{{Interface: "all", Key: "arp_ignore"}, {Interface: "nosuch0", Key: "arp_ignore"}}
		obs, err := h.Observe(context.Background(), "lo", sc)
		if err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		if !obs.Link.Exists || obs.Link.Kind != "" || !obs.Link.Up || obs.Link.Index != 1 {
			t.Errorf("%s: lo: %+v", sh, obs.Link)
		}
		if _, ok := obs.Sysctls[sc[0]]; !ok || len(obs.Sysctls) != 1 {
			t.Errorf("%s: sysctls %v", sh, obs.Sysctls)
		}
		if !slicesContains(obs.Link.Addresses, netip.MustParsePrefix("127.0.0.1/8")) {
			t.Errorf("%s: lo addresses %v", sh, obs.Link.Addresses)
		}
		missing, err := h.Observe(context.Background(), "nosuch0", nil)
		if err != nil || missing.Link.Exists {
			t.Errorf("%s: missing link: %+v %v", sh, missing.Link, err)
		}
	}
}

func slicesContains(ps []netip.Prefix, p netip.Prefix) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// TestEncodeRejectsHostileValues: values that did not pass the Go validators never reach a
// request.
func TestEncodeRejectsHostileValues(t *testing.T) {
	if _, err := EncodeObserve("a;b", nil); err == nil {
		t.Error("ifname a;b accepted")
	}
	if _, err := EncodeObserve("lo", []target.Sysctl{{Interface: "../x", Key: "arp_ignore"}}); err == nil {
		t.Error("sysctl interface ../x accepted")
	}
	if _, err := EncodeObserve("lo", []target.Sysctl{{Interface: "all", Key: "arp_ignore\nadd 1.2.3.4/32"}}); err == nil {
		t.Error("sysctl key with newline accepted")
	}
	for _, s := range []target.Step{
		{Op: target.OpSetAlias, Alias: "a b"},
		{Op: target.OpSetAlias, Alias: "x\nadd 1.2.3.4/32"},
		{Op: target.OpSetAlias, Alias: ""},
		{Op: target.OpSetSysctl, Sysctl: target.Sysctl{Interface: "all", Key: "arp_ignore"}, Value: -1},
		{Op: target.OpAddAddress},
		{Op: target.OpAddAddress, Prefix: netip.PrefixFrom(netip.MustParseAddr("192.0.2.1"), 33)},
		{Op: target.Op(99)},
	} {
		if _, err := EncodeApply("vip0", []target.Step{{Op: target.OpSetUp}, s}); err == nil {
			t.Errorf("step %+v accepted", s)
		} else {
			var se *target.StepError
			if !errors.As(err, &se) || se.Index != 1 {
				t.Errorf("step %+v: %v", s, err)
			}
		}
	}
}

// TestMergeObserve: merged requests name each interface once and each sysctl once, and only
// requests EncodeObserve builds can be merged.
func TestMergeObserve(t *testing.T) {
	a, _ := EncodeObserve("vip0", []target.Sysctl{{Interface: "all", Key: "arp_ignore"}})
	b, _ := EncodeObserve("vip1", []target.Sysctl{{Interface: "all", Key: "arp_ignore"}, {Interface: "eth0", Key: "arp_announce"}})
	c, _ := EncodeObserve("vip0", nil)
	got, err := MergeObserve([][]byte{a, b, c})
	want := "vip-helper 1\nobserve vip0 vip1\nsysctl all arp_ignore\nsysctl eth0 arp_announce\nend\n"
	if err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	apply, _ := EncodeApply("vip0", []target.Step{{Op: target.OpSetUp}})
	for _, bad := range [][]byte{
		apply,
		[]byte("vip-helper 1\nobserve a;b\nend\n"),
		[]byte("vip-helper 1\nobserve vip0\nsysctl ../x arp_ignore\nend\n"),
		[]byte("vip-helper 1\nobserve vip0\nsysctl all  arp_ignore\nend\n"),
		[]byte("vip-helper 1\nobserve vip0\nadd 192.0.2.1/32\nend\n"),
	} {
		if got, err := MergeObserve([][]byte{a, bad}); err == nil {
			t.Errorf("merged %q into %q", bad, got)
		}
	}
	if _, err := MergeObserve(nil); err == nil {
		t.Error("merged no requests")
	}
}

// TestHelperObserveMany: one multi-name observe answers for each name.
func TestHelperObserveMany(t *testing.T) {
	a, _ := EncodeObserve("lo", []target.Sysctl{{Interface: "all", Key: "arp_ignore"}})
	b, _ := EncodeObserve("nosuch0", []target.Sysctl{{Interface: "default", Key: "arp_announce"}})
	req, err := MergeObserve([][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shells(t, false) {
		res, err := localRunner{shell: sh}.Run(context.Background(), "", Script, req)
		if err != nil || res.ExitStatus != 0 {
			t.Fatalf("%s: %v, exit %d, %q %q", sh, err, res.ExitStatus, res.Stdout, res.Stderr)
		}
		view, err := parseObserve(res.Stdout)
		if err != nil || len(view.sysctls) != 2 {
			t.Fatalf("%s: %+v %v", sh, view, err)
		}
		lo, err := view.observation("lo", []target.Sysctl{{Interface: "all", Key: "arp_ignore"}})
		if err != nil || !lo.Link.Exists || lo.Link.Index != 1 || len(lo.Sysctls) != 1 {
			t.Errorf("%s: lo: %+v %v", sh, lo, err)
		}
		missing, err := view.observation("nosuch0", nil)
		if err != nil || missing.Link.Exists || len(missing.Sysctls) != 0 {
			t.Errorf("%s: nosuch0: %+v %v", sh, missing, err)
		}
	}
}

// The helper puts the system directories first in PATH: an `ip` earlier in the login PATH (a
// directory the login user can write, such as ~/bin) does not run when the helper runs as root.
func TestHelperSystemDirectoriesFirst(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	fake := "#!/bin/sh\ntouch " + marker + "\necho '[]'\n"
	if err := os.WriteFile(filepath.Join(dir, "ip"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	h, _ := New(localRunner{shell: "sh", loginPath: dir + ":" + os.Getenv("PATH")}, "rs1")
	obs, err := h.Observe(context.Background(), "lo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the ip in the login PATH ran instead of the system one")
	}
	if !obs.Link.Exists {
		t.Fatalf("lo not observed: %+v", obs.Link)
	}
}
