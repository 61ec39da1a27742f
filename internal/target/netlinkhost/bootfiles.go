//go:build linux

package netlinkhost

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// observeBoot reads the boot files persist writes (target.SharedBootPaths and every file matching
// target.BootGlobs).
func observeBoot() (target.BootFiles, error) {
	bf := target.BootFiles{Files: map[string]string{}, Links: map[string]string{}}
	bf.Systemd = isDir("/run/systemd/system")
	bf.NetworkManager = isDir(target.NMDir)
	paths := append([]string(nil), target.SharedBootPaths...)
	for _, g := range target.BootGlobs {
		m, err := filepath.Glob(g)
		if err != nil {
			return bf, err
		}
		paths = append(paths, m...)
	}
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return bf, fmt.Errorf("reading %s: %w", p, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return bf, fmt.Errorf("reading %s: %w", p, err)
			}
			bf.Links[p] = t
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return bf, fmt.Errorf("reading %s: %w", p, err)
			}
			bf.Files[p] = string(b)
		}
	}
	return bf, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// applyBoot runs one file step: writes go to a temporary file in the same directory, synced,
// then renamed over the file, so that a crash leaves the old file or the new one, never half of
// one; then the directory is synced, so that a step reported done is on disk (removing a VIP
// writes its boot file first: a power loss after the runtime change must not bring back the old
// file).
func applyBoot(ctx context.Context, s target.Step) error {
	if err := target.ValidateBootStep(s); err != nil {
		return err
	}
	switch s.Op {
	case target.OpWriteFile:
		dir := filepath.Dir(s.Path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		tmp := filepath.Join(dir, "."+filepath.Base(s.Path)+".tmp-"+strconv.Itoa(os.Getpid()))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = f.WriteString(s.Content)
		if err == nil {
			err = f.Chmod(0o644)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, s.Path)
		}
		if err != nil {
			_ = os.Remove(tmp)
			return err
		}
		return syncDir(dir)
	case target.OpSymlink:
		dir := filepath.Dir(s.Path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		tmp := filepath.Join(dir, "."+filepath.Base(s.Path)+".tmp-"+strconv.Itoa(os.Getpid()))
		_ = os.Remove(tmp)
		if err := os.Symlink(s.Content, tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, s.Path); err != nil {
			_ = os.Remove(tmp)
			return err
		}
		return syncDir(dir)
	case target.OpRemoveFile:
		err := os.Remove(s.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return syncDir(filepath.Dir(s.Path))
	case target.OpDaemonReload:
		out, err := exec.CommandContext(ctx, "systemctl", "daemon-reload").CombinedOutput()
		if err != nil {
			return fmt.Errorf("systemctl daemon-reload: %v: %s", err, out)
		}
		return nil
	}
	return fmt.Errorf("not a file step: %v", s.Op)
}

// syncDir flushes a directory's entries (a rename or removal in it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
