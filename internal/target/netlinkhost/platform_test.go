package netlinkhost

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPlatform(t *testing.T) {
	if err := CheckPlatform("linux"); err != nil {
		t.Fatalf("linux: %v", err)
	}
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		err := CheckPlatform(goos)
		if !errors.Is(err, ErrNeedsLinux) || !strings.Contains(err.Error(), goos) || !strings.Contains(err.Error(), "set `host`") {
			t.Errorf("%s: %v", goos, err)
		}
	}
}
