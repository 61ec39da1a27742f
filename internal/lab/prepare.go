package lab

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// kernel is a prepared kernel in the cache.
type kernel struct {
	release  string   // uname -r, e.g. 6.1.0-56-amd64
	vmlinuz  string   // path of the kernel image
	modules  string   // path of the depmod'ed module tree (lib/modules/<release>)
	initMods []string // absolute paths of the modules /init loads, in load order
	// systemdMods are the modules /init of a systemd guest loads next (disk, ext4, overlay), in
	// load order, without those of initMods.
	systemdMods []string
}

// hostCommand is a command the lab needs on the host and the Debian package that has it.
type hostCommand struct{ command, pkg string }

func hostCommands() []hostCommand {
	return []hostCommand{
		{"qemu-system-x86_64", "qemu-system-x86"},
		{"depmod", "kmod"},
		{"modprobe", "kmod"},
		{"busybox", "busybox-static"},
		{"ip", "iproute2"},
	}
}

// Packages are the Debian packages the lab needs on the host.
func Packages() []string {
	return []string{"qemu-system-x86", "busybox-static", "kmod", "iproute2"}
}

func cacheDir() (string, error) {
	if d := os.Getenv("VIP_LAB_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set VIP_LAB_CACHE): %w", err)
	}
	return filepath.Join(d, "terraform-provider-vip-lab"), nil
}

// prepare makes sure the host has what the lab needs and returns the cached kernel, downloading
// and unpacking it on first use. The caller holds the cache lock.
func prepare(ctx context.Context, cache string, logf func(string, ...any)) (*kernel, error) {
	if err := ensurePackages(ctx, logf); err != nil {
		return nil, err
	}
	pkg, version, err := kernelPackage(ctx, logf)
	if err != nil {
		return nil, err
	}
	release := strings.TrimPrefix(pkg, "linux-image-")
	dir := filepath.Join(cache, release+"_"+version)
	k := &kernel{
		release: release,
		vmlinuz: filepath.Join(dir, "root", "boot", "vmlinuz-"+release),
		modules: filepath.Join(dir, "root", "lib", "modules", release),
	}
	if !exists(filepath.Join(dir, "complete")) {
		logf("lab: downloading and unpacking %s %s into %s", pkg, version, dir)
		if err := unpackKernel(ctx, dir, pkg, version, release); err != nil {
			return nil, fmt.Errorf("prepare kernel %s %s: %w", pkg, version, err)
		}
		pruneKernels(cache, dir, logf)
	}
	k.initMods, err = initModules(ctx, filepath.Join(dir, "root"), release, "virtio_pci", "9pnet_virtio", "9p")
	if err != nil {
		return nil, err
	}
	sysMods, err := initModules(ctx, filepath.Join(dir, "root"), release, systemdModules...)
	if err != nil {
		return nil, err
	}
	for _, m := range sysMods {
		if !slices.Contains(k.initMods, m) {
			k.systemdMods = append(k.systemdMods, m)
		}
	}
	return k, nil
}

// ensurePackages installs missing host packages with apt-get when running as root (unless
// VIP_LAB_NO_INSTALL=1), or says which to install.
func ensurePackages(ctx context.Context, logf func(string, ...any)) error {
	var missing []string
	for _, hp := range hostCommands() {
		if !hasCommand(hp.command) || (hp.command == "busybox" && !staticBusybox()) {
			missing = appendUnique(missing, hp.pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 || os.Getenv("VIP_LAB_NO_INSTALL") == "1" || !hasCommand("apt-get") {
		return fmt.Errorf("missing Debian packages %s: install them with `apt-get install -y %s`",
			strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	logf("lab: installing %s with apt-get", strings.Join(missing, " "))
	if err := aptGetInstall(ctx, missing); err != nil {
		return err
	}
	for _, hp := range hostCommands() {
		if !hasCommand(hp.command) {
			return fmt.Errorf("%s still not found after installing %s", hp.command, hp.pkg)
		}
	}
	if !staticBusybox() {
		return errors.New("busybox is not statically linked even after installing busybox-static")
	}
	return nil
}

func aptGetInstall(ctx context.Context, pkgs []string) error {
	install := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := install(); err == nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %v\n%s", err, out)
	}
	if out, err := install(); err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

func hasCommand(name string) bool {
	if _, err := exec.LookPath(name); err == nil {
		return true
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if exists(filepath.Join(dir, name)) {
			return true
		}
	}
	return false
}

func busyboxPath() string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if exists(p) {
			return p
		}
	}
	return ""
}

// staticBusybox reports whether the host's busybox runs without a dynamic loader, as it must in
// the initramfs.
func staticBusybox() bool {
	p := busyboxPath()
	if p == "" {
		return false
	}
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// kernelPackage resolves the kernel image package linux-image-amd64 depends on, and its candidate
// version, running apt-get update once if apt knows neither.
func kernelPackage(ctx context.Context, logf func(string, ...any)) (pkg, version string, err error) {
	resolve := func() (string, string, error) {
		pkg := os.Getenv("VIP_LAB_KERNEL")
		if pkg == "" {
			out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").CombinedOutput()
			if err != nil {
				return "", "", fmt.Errorf("apt-cache depends linux-image-amd64: %v: %s", err, bytes.TrimSpace(out))
			}
			for _, line := range strings.Split(string(out), "\n") {
				if dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(dep, "linux-image-") {
					pkg = strings.TrimSpace(dep)
					break
				}
			}
			if pkg == "" {
				return "", "", fmt.Errorf("apt-cache depends linux-image-amd64 names no linux-image package:\n%s", out)
			}
		}
		out, err := exec.CommandContext(ctx, "apt-cache", "show", "--no-all-versions", pkg).CombinedOutput()
		if err != nil {
			return "", "", fmt.Errorf("apt-cache show %s: %v: %s", pkg, err, bytes.TrimSpace(out))
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Version: "); ok {
				return pkg, strings.TrimSpace(v), nil
			}
		}
		return "", "", fmt.Errorf("apt-cache show %s gives no version", pkg)
	}
	pkg, version, err = resolve()
	if err == nil {
		return pkg, version, nil
	}
	if os.Geteuid() != 0 || os.Getenv("VIP_LAB_NO_INSTALL") == "1" {
		return "", "", fmt.Errorf("%w (run `apt-get update` as root)", err)
	}
	logf("lab: %v; running apt-get update", err)
	if out, uerr := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); uerr != nil {
		return "", "", fmt.Errorf("%v; apt-get update: %v\n%s", err, uerr, out)
	}
	return resolve()
}

// unpackKernel downloads pkg into dir, extracts it into dir/root and runs depmod on its modules.
func unpackKernel(ctx context.Context, dir, pkg, version, release string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "apt-get", "download", "-o", "APT::Sandbox::User=root", pkg+"="+version)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s=%s: %v\n%s", pkg, version, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download left %d .deb files in %s", len(debs), dir)
	}
	root := filepath.Join(dir, "root")
	if out, err := exec.CommandContext(ctx, "dpkg", "-x", debs[0], root).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg -x %s: %v\n%s", debs[0], err, out)
	}
	if out, err := exec.CommandContext(ctx, "depmod", "-b", root, release).CombinedOutput(); err != nil {
		return fmt.Errorf("depmod -b %s %s: %v\n%s", root, release, err, out)
	}
	if err := os.Remove(debs[0]); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "complete"), []byte(pkg+" "+version+"\n"), 0o644)
}

// pruneKernels removes the kernels cached before keep (about 400 MB each) once Debian has moved
// on. The caller holds the lock, so no guest is using them.
func pruneKernels(cache, keep string, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(cache, "*_*"))
	for _, d := range dirs {
		if d == keep || !exists(filepath.Join(d, "complete")) {
			continue
		}
		logf("lab: removing the older kernel %s", d)
		_ = os.RemoveAll(d)
	}
}

// initModules lists, in load order and without duplicates, the modules /init must insmod to load
// names (and to mount the host over 9p, those are virtio_pci, 9pnet_virtio and 9p).
func initModules(ctx context.Context, root, release string, names ...string) ([]string, error) {
	args := append([]string{"-d", root, "-S", release, "--show-depends", "-a"}, names...)
	out, err := exec.CommandContext(ctx, "modprobe", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("modprobe --show-depends in %s: %v\n%s", root, err, out)
	}
	var mods []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "insmod" {
			mods = appendUnique(mods, f[1])
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("modprobe --show-depends in %s lists no modules:\n%s", root, out)
	}
	return mods, nil
}
