//go:build unix

package keepalived

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestPathMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, kind string }{
		{fifo, "not a regular file (a FIFO)"},
		{os.DevNull, "not a regular file (a character device)"},
		{dir, "not a regular file (a directory)"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			within(t, 5*time.Second, func() {
				_, diags := ParseFile(tc.path, Options{})
				errorAt(t, diags, tc.path, tc.kind)
			})
		})
	}
	// An include that matches a FIFO: keepalived skips what is not a regular file; so does the
	// reader, without opening it.
	if err := os.WriteFile(filepath.Join(dir, "main.conf"), []byte("include fifo.conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, func() {
		_, diags := ParseFile(filepath.Join(dir, "main.conf"), Options{})
		warningAt(t, diags, "main.conf:1", "not a regular non-executable file; keepalived skips it")
	})
}
