//go:build linux

package netlinkhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// lockPath is target.LockPath, or a file in /run where /run/lock does not exist: the same file
// the SSH helper locks (with flock(1)) when it runs on this machine.
func lockPath() string {
	if st, err := os.Stat("/run/lock"); err == nil && st.IsDir() {
		return target.LockPath
	}
	return "/run/terraform-provider-vip.lock"
}

// lockHost takes the host's exclusive flock for one apply (see target.Expectations), waiting at
// most target.LockWait seconds for another writer, and returns its release.
func lockHost(ctx context.Context) (func(), error) {
	path := lockPath()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the host lock %s: %w", path, err)
	}
	deadline := time.Now().Add(target.LockWait * time.Second)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil // closing the file releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("another apply on this machine has held %s for %d s (a long apply of another Terraform run?); try again", path, target.LockWait)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
