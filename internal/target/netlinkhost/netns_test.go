//go:build linux

package netlinkhost

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// inNamedNetns runs f on a thread moved into a fresh named network namespace (so `ip -n name`
// reaches it too), and removes the namespace afterwards. Everything netlinkhost does — netlink
// sockets and /proc/sys/net — follows the calling thread's namespace, so tests never touch the
// machine's own interfaces.
func inNamedNetns(tb testing.TB, f func(ns string)) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root (CAP_NET_ADMIN) for a network namespace")
	}
	name := fmt.Sprintf("vipt%d", os.Getpid())
	done := make(chan struct{})
	var failed any
	// A goroutine of its own: its thread is locked and, if the namespace cannot be left,
	// thrown away when the goroutine ends.
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			failed = err
			return
		}
		defer orig.Close()
		ns, err := netns.NewNamed(name)
		if err != nil {
			failed = err
			return
		}
		defer func() {
			ns.Close()
			_ = netns.DeleteNamed(name)
			if netns.Set(orig) == nil {
				runtime.UnlockOSThread()
			}
		}()
		defer func() {
			if r := recover(); r != nil {
				failed = r
			}
		}()
		if lo, err := netlink.LinkByName("lo"); err == nil {
			_ = netlink.LinkSetUp(lo)
		}
		f(name)
	}()
	<-done
	if failed != nil {
		tb.Fatalf("in network namespace %s: %v", name, failed)
	}
}

// ipBatch runs `ip -n ns -batch -` with the given commands and fails tb if it fails.
func ipBatch(tb testing.TB, ns string, cmds []string) {
	tb.Helper()
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ip -batch: %v\n%s", err, out)
	}
}
