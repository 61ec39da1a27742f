package sshconn

import (
	"fmt"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authMethods builds the client's auth methods. x/crypto/ssh tries each method name once, so all
// keys (own keys first, then the agent's) go into one "publickey" method.
//
// The returned closer releases the agent connection; call it after the handshake.
func (c *Config) authMethods() ([]ssh.AuthMethod, func(), error) {
	var methods []ssh.AuthMethod
	closer := func() {}
	var agentClient agent.ExtendedAgent
	if c.AgentSocket != "" {
		conn, err := dialAgent(c.AgentSocket, c.timeout())
		switch {
		case err == nil:
			closer = func() { _ = conn.Close() }
			agentClient = agent.NewClient(conn)
		case !c.AgentOptional:
			return nil, closer, fmt.Errorf("connecting to the ssh-agent at %s: %v; %s, or set ssh.agent = false", c.AgentSocket, err, startAgentHint)
		}
	}
	if len(c.Signers) > 0 || agentClient != nil {
		own := c.Signers
		methods = append(methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			signers := append([]ssh.Signer(nil), own...)
			if agentClient != nil {
				// An agent that fails to list keys leaves the own keys usable, so its error is
				// not the callback's.
				if fromAgent, err := agentClient.Signers(); err == nil {
					signers = append(signers, fromAgent...)
				}
			}
			return signers, nil
		}))
	}
	if c.Password != "" {
		pw := c.Password
		methods = append(methods,
			ssh.Password(pw),
			// Many sshd configurations offer passwords only through keyboard-interactive (PAM).
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] { // a hidden prompt is the password prompt
						answers[i] = pw
					}
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		closer()
		return nil, func() {}, fmt.Errorf("no SSH credentials: set ssh.private_key, ssh.private_key_file or ssh.password, or run an ssh-agent (SSH_AUTH_SOCK)")
	}
	return methods, closer, nil
}
