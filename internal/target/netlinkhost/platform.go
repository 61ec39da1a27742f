// Package netlinkhost is the Target for this machine: rtnetlink through
// github.com/vishvananda/netlink for links and addresses, /proc/sys for the sysctls. It works in
// the network namespace of the thread that calls it.
//
// rtnetlink and /proc/sys/net exist only on Linux, so the implementation is built only there; on
// other systems Host is a stub whose every call returns ErrNeedsLinux (the provider rejects a
// resource without `host` at plan already, see CheckPlatform).
package netlinkhost

import (
	"errors"
	"fmt"
)

// ErrNeedsLinux is the error of local mode (a resource without `host`) on any system but Linux.
var ErrNeedsLinux = errors.New("local mode needs Linux: set `host` to reach the real server over SSH")

// CheckPlatform says whether local mode works on goos (a runtime.GOOS value): nil on Linux,
// ErrNeedsLinux (naming goos) elsewhere. The provider calls it with runtime.GOOS; tests pass other
// systems.
func CheckPlatform(goos string) error {
	if goos == "linux" {
		return nil
	}
	return fmt.Errorf("%w (the provider runs on %s; the local target manages this machine's interfaces through Linux rtnetlink)", ErrNeedsLinux, goos)
}
