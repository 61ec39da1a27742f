package sshconn

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// WindowsAgentPipe is where OpenSSH for Windows' ssh-agent service listens (the named pipe its
// ssh.exe uses when SSH_AUTH_SOCK is not set).
const WindowsAgentPipe = `\\.\pipe\openssh-ssh-agent`

// Paths computes the per-system SSH defaults the way OpenSSH does on that system: the home
// directory, `~` in configured paths, the known_hosts file and the ssh-agent. HostPaths is this
// machine; tests pass another system and environment.
type Paths struct {
	// GOOS is a runtime.GOOS value.
	GOOS string
	// Getenv reads the environment (os.Getenv).
	Getenv func(string) string
}

// HostPaths is Paths for the machine the provider runs on.
func HostPaths() Paths { return Paths{GOOS: runtime.GOOS, Getenv: os.Getenv} }

func (p Paths) windows() bool { return p.GOOS == "windows" }

// sep is the system's path separator.
func (p Paths) sep() string {
	if p.windows() {
		return `\`
	}
	return "/"
}

// Home is the user's home directory: %USERPROFILE% on Windows (where OpenSSH for Windows keeps
// .ssh), $HOME elsewhere.
func (p Paths) Home() (string, error) {
	env := "HOME"
	if p.windows() {
		env = "USERPROFILE"
	}
	if h := p.Getenv(env); h != "" {
		return h, nil
	}
	return "", fmt.Errorf("the home directory is unknown: %s is not set", env)
}

// join appends slash-separated rest to dir with the system's separator.
func (p Paths) join(dir, rest string) string {
	sep := p.sep()
	if p.windows() {
		rest = strings.ReplaceAll(rest, "/", sep)
	}
	if rest == "" {
		return dir
	}
	return strings.TrimRight(dir, `/`+sep) + sep + strings.TrimLeft(rest, `/`+sep)
}

// ExpandHome replaces a leading `~` (alone, or followed by `/`, or by `\` on Windows) with Home,
// as a shell would. Other paths, `~user/...` included, are returned as they are.
func (p Paths) ExpandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") && (!p.windows() || !strings.HasPrefix(path, `~\`)) {
		return path, nil
	}
	home, err := p.Home()
	if err != nil {
		return "", fmt.Errorf("cannot expand ~ in %s: %w", path, err)
	}
	return p.join(home, path[1:]), nil
}

// KnownHostsFile is the user's known_hosts file: ~/.ssh/known_hosts, which is
// %USERPROFILE%\.ssh\known_hosts on Windows.
func (p Paths) KnownHostsFile() (string, error) {
	return p.ExpandHome("~/.ssh/known_hosts")
}

// Agent is where the ssh-agent listens: $SSH_AUTH_SOCK when set; on Windows otherwise OpenSSH's
// agent pipe, with implicit true because nothing says an agent runs there (the service may be
// stopped), so a caller that did not ask for the agent skips it when it cannot be reached, as
// ssh.exe does. address is empty when there is no agent to try.
func (p Paths) Agent() (address string, implicit bool) {
	if sock := p.Getenv("SSH_AUTH_SOCK"); sock != "" {
		return sock, false
	}
	if p.windows() {
		return WindowsAgentPipe, true
	}
	return "", false
}
