package lab

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A systemd guest (Config.Systemd) is the host's own system booted with systemd 252 as PID 1, so
// that boot-time behaviour (units, sysctl.d, ordering, the journal) is tested the way a real server
// runs it, including real reboots:
//
//   - The host's / is shared over 9p read-only and is the lower layer of an overlay whose upper
//     layer lives on an ext4 image on virtio-blk (made with truncate and mkfs.ext4 in the run
//     directory). Whatever the guest writes — units, /etc, terraform state — stays on that disk and
//     survives the guest's reboots, and never reaches the host.
//   - The run directory is shared read-write and mounted at /viplab: the script, its environment,
//     and what the guest reports (output, boots, rc).
//   - /tmp is the guest's tmpfs (systemd-tmpfiles would otherwise walk the host's /tmp); the host's
//     services are masked and the guest boots into viplab.target (basic.target plus viplab.service,
//     which runs the script on every boot: scripts/prepare-root.sh, scripts/systemd-stage.sh).
//   - QEMU runs without -no-reboot: `systemctl reboot` resets the guest, which boots the same
//     kernel and initramfs again, on the same disk.
//
// A boot to the script takes about 20–35 s under software emulation, so tests keep the number of
// boots small.

// ExitReboot is the exit status with which a script in a systemd guest asks for a reboot: the
// guest runs `systemctl reboot` and the script runs again on the next boot, with VIP_LAB_BOOT one
// higher.
const ExitReboot = 75

// EnvBoot is set to the boot number (1, 2, ...) in the environment of a script in a systemd guest.
const EnvBoot = "VIP_LAB_BOOT"

// RunDirInside is where a systemd guest mounts the run directory.
const RunDirInside = "/viplab"

// systemdModules are what /init of a systemd guest loads to mount its disk and the overlay.
var systemdModules = []string{"virtio_blk", "ext4", "overlay"}

// systemdCmdline is added to the kernel command line of a systemd guest.
const systemdCmdline = " viplabmode=systemd systemd.unit=viplab.target fstab=no"

// diskSize is the size of the overlay's sparse disk image: only what the guest writes uses space.
const diskSize = "4G"

//go:embed scripts/prepare-root.sh
var prepareRootScript []byte

//go:embed scripts/systemd-stage.sh
var systemdStageScript []byte

// systemdArgs are the QEMU arguments a systemd guest adds: its disk and the run directory's share.
// Without -no-reboot, a reboot restarts the guest in the same QEMU process.
func systemdArgs(run string) []string {
	return []string{
		"-drive", "file=" + filepath.Join(run, "disk.img") + ",format=raw,if=virtio,cache=unsafe",
		"-fsdev", "local,id=run,path=" + run + ",security_model=passthrough",
		"-device", "virtio-9p-pci,fsdev=run,mount_tag=run",
	}
}

// writeSystemdRunDir adds what a systemd guest needs to the run directory: its scripts and the
// empty ext4 disk of the overlay.
func writeSystemdRunDir(run string) error {
	if err := os.WriteFile(filepath.Join(run, "prepare-root.sh"), prepareRootScript, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(run, "systemd-stage.sh"), systemdStageScript, 0o755); err != nil {
		return err
	}
	disk := filepath.Join(run, "disk.img")
	for _, args := range [][]string{
		{"truncate", "-s", diskSize, disk},
		{mkfsExt4(), "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1", disk},
	} {
		if out, err := exec.CommandContext(context.Background(), args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v: %s (mkfs.ext4 is in the Debian package e2fsprogs)", args, err, out)
		}
	}
	return nil
}

func mkfsExt4() string {
	if p, err := exec.LookPath("mkfs.ext4"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"} {
		if exists(p) {
			return p
		}
	}
	return "mkfs.ext4"
}

// ensureSystemdPackages makes sure the host has what a systemd guest needs besides the lab's
// usual packages: systemd itself (installed, not necessarily running on the host) and mkfs.ext4,
// installing them with apt-get as ensurePackages does.
func ensureSystemdPackages(ctx context.Context, logf func(string, ...any)) error {
	var missing []string
	if !exists("/lib/systemd/systemd") {
		missing = append(missing, "systemd")
	}
	if !hasCommand("mkfs.ext4") {
		missing = append(missing, "e2fsprogs")
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 || os.Getenv("VIP_LAB_NO_INSTALL") == "1" || !hasCommand("apt-get") {
		return fmt.Errorf("a systemd lab guest needs the Debian packages %v: install them with `apt-get install -y %s`",
			missing, strings.Join(missing, " "))
	}
	logf("lab: installing %s with apt-get", strings.Join(missing, " "))
	return aptGetInstall(ctx, missing)
}
