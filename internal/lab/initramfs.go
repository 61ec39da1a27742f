package lab

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// buildInitramfs returns an uncompressed newc cpio archive with the static busybox, /init and
// the modules /init loads (listed, in order, in /modules.list), and for a systemd guest those it
// loads next to mount its disk and overlay (in /modules-systemd.list).
func buildInitramfs(k *kernel, systemd bool) ([]byte, error) {
	bb := busyboxPath()
	if bb == "" {
		return nil, fmt.Errorf("busybox not found: install the Debian package busybox-static")
	}
	busybox, err := os.ReadFile(bb)
	if err != nil {
		return nil, err
	}
	w := &cpioWriter{}
	for _, d := range []string{"bin", "dev", "proc", "sys", "newroot", "modules"} {
		w.dir(d)
	}
	w.file("bin/busybox", 0o755, busybox)
	w.file("init", 0o755, initScript)
	lists := []struct {
		name string
		mods []string
	}{{"modules.list", k.initMods}}
	if systemd {
		lists = append(lists, struct {
			name string
			mods []string
		}{"modules-systemd.list", k.systemdMods})
	}
	for _, l := range lists {
		var list strings.Builder
		for _, m := range l.mods {
			data, err := os.ReadFile(m)
			if err != nil {
				return nil, err
			}
			name := filepath.Base(m)
			w.file("modules/"+name, 0o644, data)
			list.WriteString(name + "\n")
		}
		w.file(l.name, 0o644, []byte(list.String()))
	}
	return w.finish(), nil
}

// cpioWriter writes the "newc" format the kernel unpacks into its initial root file system.
type cpioWriter struct {
	buf bytes.Buffer
	ino int
}

func (w *cpioWriter) header(name string, mode uint32, size int) {
	w.ino++
	nlink := 1
	if mode&0o040000 != 0 {
		nlink = 2
	}
	fmt.Fprintf(&w.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		w.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	w.buf.WriteString(name)
	w.buf.WriteByte(0)
	w.pad()
}

func (w *cpioWriter) pad() {
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
}

func (w *cpioWriter) dir(name string) {
	w.header(name, 0o040755, 0)
}

func (w *cpioWriter) file(name string, perm uint32, data []byte) {
	w.header(name, 0o100000|perm, len(data))
	w.buf.Write(data)
	w.pad()
}

func (w *cpioWriter) finish() []byte {
	w.header("TRAILER!!!", 0, 0)
	return w.buf.Bytes()
}
