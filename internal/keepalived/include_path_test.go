package keepalived

import (
	"runtime"
	"slices"
	"testing"
)

func TestIncludePath(t *testing.T) {
	for _, tc := range []struct{ dir, pattern, want string }{
		{"/etc/keepalived", "conf.d/*.conf", "/etc/keepalived/conf.d/*.conf"},
		{"/etc/keepalived/", "../lvs.conf", "/etc/lvs.conf"},
		{"lb", "./a.conf", "lb/a.conf"},
		// keepalived's glob escapes stay escapes: a literal `*` in a file name.
		{"/etc/keepalived", `conf.d/\*.conf`, `/etc/keepalived/conf.d/\*.conf`},
		{"/etc/keepalived", "{web,dns}.conf", "/etc/keepalived/{web,dns}.conf"},
	} {
		if got := includePath(tc.dir, tc.pattern); got != tc.want {
			t.Errorf("includePath(%q, %q) = %q, want %q", tc.dir, tc.pattern, got, tc.want)
		}
	}
	// The including file's directory in this system's own form (cross-compiled for Windows in CI,
	// where this runs on Windows).
	if runtime.GOOS == "windows" {
		if got := includePath(`C:\lb\keepalived`, "conf.d/*.conf"); got != "C:/lb/keepalived/conf.d/*.conf" {
			t.Errorf("includePath from a Windows directory = %q", got)
		}
	}
}

func TestGlobStart(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		start   string
		comps   []string
	}{
		{"/etc/keepalived/*.conf", "/", []string{"etc", "keepalived", "*.conf"}},
		{"lb/*.conf", ".", []string{"lb", "*.conf"}},
	} {
		start, comps := globStart(tc.pattern)
		if len(start) != 1 || start[0] != tc.start || !slices.Equal(comps, tc.comps) {
			t.Errorf("globStart(%q) = %q %q, want %q %q", tc.pattern, start, comps, tc.start, tc.comps)
		}
	}
	if runtime.GOOS == "windows" {
		start, comps := globStart("C:/lb/*.conf")
		if start[0] != "C:/" || !slices.Equal(comps, []string{"lb", "*.conf"}) {
			t.Errorf("globStart on a volume: %q %q", start, comps)
		}
	}
}
