package sshconn

import (
	"strings"
	"testing"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestPathsPerSystem(t *testing.T) {
	windows := Paths{GOOS: "windows", Getenv: envOf("USERPROFILE", `C:\Users\ops`, "HOME", "/home/msys")}
	darwin := Paths{GOOS: "darwin", Getenv: envOf("HOME", "/Users/ops", "USERPROFILE", `C:\nope`)}
	linux := Paths{GOOS: "linux", Getenv: envOf("HOME", "/home/ops/")}
	for _, tc := range []struct {
		paths     Paths
		in, want  string
		wantError string
	}{
		{paths: windows, in: "~/.ssh/id_ed25519", want: `C:\Users\ops\.ssh\id_ed25519`},
		{paths: windows, in: `~\.ssh\id_rsa`, want: `C:\Users\ops\.ssh\id_rsa`},
		{paths: windows, in: "~", want: `C:\Users\ops`},
		{paths: windows, in: `D:\keys\id`, want: `D:\keys\id`},
		{paths: darwin, in: "~/.ssh/id_ed25519", want: "/Users/ops/.ssh/id_ed25519"},
		{paths: darwin, in: `~\x`, want: `~\x`}, // a backslash is a file name character there
		{paths: linux, in: "~/.ssh/known_hosts", want: "/home/ops/.ssh/known_hosts"},
		{paths: linux, in: "~root/.ssh/id", want: "~root/.ssh/id"},
		{paths: linux, in: "/etc/ssh/key", want: "/etc/ssh/key"},
		{paths: Paths{GOOS: "linux", Getenv: envOf()}, in: "~/.ssh/id", wantError: "cannot expand ~ in ~/.ssh/id: the home directory is unknown: HOME is not set"},
		{paths: Paths{GOOS: "windows", Getenv: envOf("HOME", "/home/msys")}, in: "~/.ssh/id", wantError: "USERPROFILE is not set"},
	} {
		got, err := tc.paths.ExpandHome(tc.in)
		switch {
		case tc.wantError != "" && (err == nil || !strings.Contains(err.Error(), tc.wantError)):
			t.Errorf("%s ExpandHome(%q): %q, %v; want error %q", tc.paths.GOOS, tc.in, got, err, tc.wantError)
		case tc.wantError == "" && (err != nil || got != tc.want):
			t.Errorf("%s ExpandHome(%q): %q, %v; want %q", tc.paths.GOOS, tc.in, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		paths Paths
		want  string
	}{
		{windows, `C:\Users\ops\.ssh\known_hosts`},
		{darwin, "/Users/ops/.ssh/known_hosts"},
		{linux, "/home/ops/.ssh/known_hosts"},
	} {
		if got, err := tc.paths.KnownHostsFile(); err != nil || got != tc.want {
			t.Errorf("%s KnownHostsFile: %q, %v; want %q", tc.paths.GOOS, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		paths        Paths
		addr         string
		wantImplicit bool
	}{
		{windows, WindowsAgentPipe, true},
		{Paths{GOOS: "windows", Getenv: envOf("SSH_AUTH_SOCK", `\\.\pipe\my-agent`)}, `\\.\pipe\my-agent`, false},
		{darwin, "", false},
		{Paths{GOOS: "darwin", Getenv: envOf("SSH_AUTH_SOCK", "/private/tmp/launchd/Listeners")}, "/private/tmp/launchd/Listeners", false},
	} {
		if addr, implicit := tc.paths.Agent(); addr != tc.addr || implicit != tc.wantImplicit {
			t.Errorf("%s Agent: %q %v; want %q %v", tc.paths.GOOS, addr, implicit, tc.addr, tc.wantImplicit)
		}
	}
}
