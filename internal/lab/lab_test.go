package lab_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
)

// TestKernelLab runs this package's TestLab* tests inside the lab guest.
func TestKernelLab(t *testing.T) {
	lab.RunTestsInside(t, "^TestLab")
}

// TestLabKernel runs inside the guest: the stock kernel's drivers the host lacks are there.
func TestLabKernel(t *testing.T) {
	lab.Require(t, "TestKernelLab")
	if out, err := exec.Command("ip", "link", "add", "labtest0", "type", "dummy").CombinedOutput(); err != nil {
		t.Fatalf("ip link add labtest0 type dummy: %v: %s", err, out)
	}
	defer func() { _ = exec.Command("ip", "link", "del", "labtest0").Run() }()
	modules, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"ip_vs", "dummy", "veth"} {
		if !strings.Contains("\n"+string(modules), "\n"+m+" ") {
			t.Errorf("module %s is not loaded in the guest:\n%s", m, modules)
		}
	}
	if h, _ := os.Hostname(); h != lab.Hostname {
		t.Errorf("hostname %q, want %q", h, lab.Hostname)
	}
}

// TestLabEnvironment runs inside the guest: the places tests write to are writable, and the
// host's terraform runs.
func TestLabEnvironment(t *testing.T) {
	lab.Require(t, "TestKernelLab")
	for _, v := range []string{"HOME", "TMPDIR", "GOCACHE"} {
		dir := os.Getenv(v)
		if dir == "" {
			t.Errorf("%s is not set inside the lab", v)
			continue
		}
		f, err := os.CreateTemp(dir, "labtest")
		if err != nil {
			t.Errorf("%s=%s is not writable inside the lab: %v", v, dir, err)
			continue
		}
		f.Close()
		os.Remove(f.Name())
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		t.Skip("no terraform on the host's PATH")
	}
	out, err := exec.Command(tf, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Terraform v") {
		t.Errorf("%s version: %v: %s", tf, err, out)
	}
}

// TestUnavailable re-runs TestKernelLab with a QEMU that cannot start: with CI=true it must
// fail, otherwise skip.
func TestUnavailable(t *testing.T) {
	if lab.Inside() {
		t.Skip("host-side test")
	}
	for _, tc := range []struct {
		ci   string
		want string
	}{
		{ci: "true", want: "--- FAIL: TestKernelLab"},
		{ci: "", want: "--- SKIP: TestKernelLab"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestKernelLab$", "-test.v")
		cmd.Env = append(os.Environ(), "CI="+tc.ci, "VIP_LAB_QEMU=/nonexistent/qemu-system-x86_64")
		out, err := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "kernel lab unavailable") {
			t.Errorf("CI=%q: want %q with the reason; got (%v):\n%s", tc.ci, tc.want, err, out)
		}
		if (tc.ci == "true") != (err != nil) {
			t.Errorf("CI=%q: test binary exit error %v", tc.ci, err)
		}
	}
}

// TestRun boots the lab directly (one boot: lab runs queue for the machine's one guest): the
// script's output and exit status come back to the host, and a host forward reaches a listener
// in the guest.
func TestRun(t *testing.T) {
	if lab.Inside() {
		t.Skip("host-side test")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // a "tcp" listener's address is always a *net.TCPAddr
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := lab.Config{
			Script: "ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up &&\n" +
				"busybox nc -l -p 8080 -e /bin/echo hello-from-guest\n" +
				"echo out; echo err >&2; ip link add x type dummy && exit 7\n",
			HostForwards: []string{fmt.Sprintf("tcp:127.0.0.1:%d-:8080", port)},
		}.Run(ctx)
		done <- result{out, err}
	}()
	for {
		select {
		case r := <-done:
			lab.Unavailable(t, r.err)
			t.Fatalf("the guest ended before the host got through: %v\n%s", r.err, r.out)
		case <-time.After(500 * time.Millisecond):
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			continue
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		if strings.TrimSpace(string(b)) == "hello-from-guest" {
			break
		}
	}
	r := <-done
	var exit *lab.ExitError
	if !errors.As(r.err, &exit) || exit.Code != 7 {
		t.Fatalf("err = %v, want exit status 7; output:\n%s", r.err, r.out)
	}
	if string(r.out) != "out\nerr\n" {
		t.Errorf("output %q, want %q", r.out, "out\nerr\n")
	}
}

// TestKernelLabSystemdReboot boots a systemd guest, and reboots it once with `systemctl reboot`:
// systemd is PID 1, a file written on the first boot is there on the second (same disk), and
// nothing of it reached the host.
func TestKernelLabSystemdReboot(t *testing.T) {
	if lab.Inside() {
		t.Skip("host-side test")
	}
	marker := "/etc/viplab-reboot-marker-" + fmt.Sprint(time.Now().UnixNano())
	script := `set -e
echo "boot $VIP_LAB_BOOT: pid 1 is $(cat /proc/1/comm), $(systemctl --version | head -n1)"
echo "boot $VIP_LAB_BOOT: hostname $(hostname), / is $(stat -f -c %T /), /tmp is $(stat -f -c %T /tmp)"
echo "boot $VIP_LAB_BOOT: state $(systemctl is-system-running || true)"
systemctl --failed --no-legend --plain | sed "s/^/failed: /"
case $VIP_LAB_BOOT in
1)
	echo "written on boot 1" >` + marker + `
	exit ` + fmt.Sprint(lab.ExitReboot) + `
	;;
2)
	echo "marker: $(cat ` + marker + `)"
	journalctl --list-boots --no-pager | sed "s/^/journal boots: /"
	;;
*) echo "unexpected boot $VIP_LAB_BOOT"; exit 1 ;;
esac
`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := lab.Config{Script: script, Systemd: true, Log: t.Logf, Console: &consoleLog{t: t}}.Run(ctx)
	t.Logf("two boots and the script: %s\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		lab.Unavailable(t, err)
		t.Fatal(err)
	}
	for _, want := range []string{
		"boot 1: pid 1 is systemd, systemd 252",
		"boot 1: hostname vip-lab, / is overlayfs, /tmp is tmpfs",
		"boot 2: pid 1 is systemd",
		"marker: written on boot 1",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(string(out), "failed: ") {
		t.Errorf("units failed in the guest")
	}
	if _, err := os.Stat(marker); err == nil {
		os.Remove(marker)
		t.Errorf("%s reached the host: the guest's writes must stay on its disk", marker)
	}
}

type consoleLog struct{ t *testing.T }

func (c *consoleLog) Write(p []byte) (int, error) {
	c.t.Logf("console| %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
