//go:build !windows

package sshconn

import (
	"net"
	"time"
)

// startAgentHint says how to get an agent listening at SSH_AUTH_SOCK.
const startAgentHint = "start the agent (eval $(ssh-agent); ssh-add) and check SSH_AUTH_SOCK"

// dialAgent connects to the ssh-agent's unix socket.
func dialAgent(address string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("unix", address, timeout)
}
