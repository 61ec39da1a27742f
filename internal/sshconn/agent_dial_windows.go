package sshconn

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
)

// startAgentHint says how to get OpenSSH for Windows' agent running.
const startAgentHint = "start the OpenSSH Authentication Agent service (Get-Service ssh-agent | Set-Service -StartupType Automatic -PassThru | Start-Service) and ssh-add your key"

// dialAgent connects to the ssh-agent: a named pipe (OpenSSH for Windows' agent service, or any
// agent that serves the same protocol on a pipe, given as SSH_AUTH_SOCK), else a unix socket
// (AF_UNIX exists on Windows 10 1803 and later). go-winio waits for a free pipe instance within
// timeout instead of failing at once when the agent is busy with another client.
func dialAgent(address string, timeout time.Duration) (net.Conn, error) {
	if strings.HasPrefix(address, `\\.\pipe\`) || strings.HasPrefix(address, `//./pipe/`) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return winio.DialPipeContext(ctx, address)
	}
	return net.DialTimeout("unix", address, timeout)
}
