package lab

import (
	"errors"
	"os"
	"syscall"
)

// qemuProcAttr kills QEMU with the test process: a guest must never outlive the run that booted
// it (it holds the machine-wide lab turn and two cores).
func qemuProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// tryLock takes an exclusive flock on f without waiting; busy reports that another process
// holds it.
func tryLock(f *os.File) (busy bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

// processGone reports that no process has pid (its queue ticket is stale).
func processGone(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}
