//go:build !linux

package lab

import (
	"errors"
	"os"
	"syscall"
)

// The lab boots a Linux guest with the host's / shared over 9p: it exists only on Linux hosts.
// Elsewhere the package still compiles (tests that use it are cross-compiled in CI) and every run
// reports ErrUnavailable, so lab tests skip there, or fail with CI=true.

var errNotLinux = errors.New("the kernel lab runs only on Linux hosts")

func qemuProcAttr() *syscall.SysProcAttr { return nil }

func tryLock(*os.File) (busy bool, err error) { return false, errNotLinux }

func processGone(int) bool { return false }
