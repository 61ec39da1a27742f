package sshconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxSessions bounds the sessions open at once on one connection. OpenSSH's MaxSessions defaults to
// 10; Terraform's default parallelism is also 10, so stay below it and queue the rest.
const maxSessions = 8

// Conn is one authenticated SSH connection to one host.
type Conn struct {
	// Address is the host as dialed, host:port (IPv6 in brackets), used in every message.
	Address string
	User    string

	client  *ssh.Client
	sudo    bool
	timeout time.Duration

	sessions chan struct{} // semaphore, capacity maxSessions
	dead     chan struct{} // closed when the connection is known to be gone
	once     sync.Once
}

// Result is the outcome of a command that ran to its end.
type Result struct {
	ExitStatus int
	Stdout     []byte
	Stderr     []byte
}

// ConnectionLostError says the connection broke while a command ran: the command may have done
// part of its work. The caller must re-read the host before deciding anything.
type ConnectionLostError struct {
	Address string
	Err     error
}

func (e *ConnectionLostError) Error() string {
	return fmt.Sprintf("SSH connection to %s was lost while the command ran (%v); it may have done part of its work: read the host again (terraform plan/refresh) before retrying", e.Address, e.Err)
}
func (e *ConnectionLostError) Unwrap() error { return e.Err }

// SudoError says sudo refused to run the command: it wants a password, or the user may not use it.
// Nothing ran.
type SudoError struct {
	Address, User string
	Helper        string // the installed helper's path (ssh.helper_path), "" when the helper is sent
	Message       string // sudo's own words, control characters escaped
}

func (e *SudoError) Error() string {
	allow := "allow the user to run `sh` with NOPASSWD in sudoers (or install the helper and set ssh.helper_path, which sudoers can allow alone)"
	if e.Helper != "" {
		allow = fmt.Sprintf("allow the user to run exactly %s as root with NOPASSWD in sudoers: %s ALL=(root) NOPASSWD: %s \"\"", e.Helper, e.User, e.Helper)
	}
	return fmt.Sprintf("sudo on %s refused to run the helper for user %q without a password (%s); nothing was changed: %s, or connect as root and set ssh.sudo = false",
		e.Address, e.User, e.Message, allow)
}

// The most a remote command may print. The helper's answers are far smaller: an observe of a host
// with 10,000 addresses is about 2 MB of `ip -j` output.
const (
	MaxStdout = 32 << 20
	MaxStderr = 1 << 20
)

func limitOf(stream string) int {
	if stream == "stderr" {
		return MaxStderr
	}
	return MaxStdout
}

// OutputTooLargeError says a command printed more than the provider reads; it was killed and the
// connection dropped. What it did before is unknown.
type OutputTooLargeError struct {
	Address string
	Stream  string // "stdout" or "stderr"
	Limit   int
}

func (e *OutputTooLargeError) Error() string {
	return fmt.Sprintf("%s printed more than %d MiB on %s, far more than the helper ever does; the provider stopped reading and dropped the connection "+
		"(check the login user's shell profile on %s, and that the host is the one you mean); the command may have done part of its work: read the host again (terraform plan) before retrying",
		e.Address, e.Limit>>20, e.Stream, e.Address)
}

// cappedBuffer keeps at most limit bytes; the first write past it reports the stream on full
// and fails, which stops the session's copy. The buffer is a field, not embedded: an embedded
// bytes.Buffer's ReadFrom would let io.Copy bypass Write.
type cappedBuffer struct {
	buf   bytes.Buffer
	name  string
	limit int
	full  chan<- string
	over  bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.over {
		return 0, errTooMuchOutput
	}
	if b.buf.Len()+len(p) > b.limit {
		b.over = true
		b.full <- b.name
		return 0, errTooMuchOutput
	}
	return b.buf.Write(p)
}

// Bytes is what was written, up to the limit.
func (b *cappedBuffer) Bytes() []byte { return b.buf.Bytes() }

var errTooMuchOutput = errors.New("too much output")

// Alive reports whether the connection is still believed usable.
func (c *Conn) Alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// Close closes the connection. It is safe to call more than once.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		err = c.client.Close()
		close(c.dead)
	})
	return err
}

// errSessionNotStarted marks failures before the remote command started: safe to retry on a new
// connection.
var errSessionNotStarted = errors.New("session not started")

// NotStarted reports whether err says the remote command never started (the session could not be
// opened or started, or sudo refused it): nothing was changed on the host.
func NotStarted(err error) bool {
	var se *SudoError
	return errors.Is(err, errSessionNotStarted) || errors.As(err, &se)
}

// ShellQuote quotes s for a POSIX shell as one word. It is used only for the provider's own fixed
// helper program, never for user data.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// installedPrefix marks a program that is an installed file (see Installed): no shell program
// text starts with a NUL byte.
const installedPrefix = "\x00installed:"

// Installed is the program that runs the executable file at path (absolute, checked by the
// caller) itself, with no shell and no arguments: `sudo -n /path` under sudo, so that a sudoers
// rule can allow exactly that file.
func Installed(path string) string { return installedPrefix + path }

// installedPath is the file an Installed program runs, "" for program text.
func installedPath(program string) string {
	path, _ := strings.CutPrefix(program, installedPrefix)
	if path == program {
		return ""
	}
	return path
}

// command is the remote command line that runs program: `sh -c '<program>'`, or the installed
// file for an Installed program, prefixed with `sudo -n` when asked. Program is fixed text of the
// provider; data goes over stdin.
func (c *Conn) command(program string) string {
	cmd := "sh -c " + ShellQuote(program)
	if path := installedPath(program); path != "" {
		cmd = ShellQuote(path)
	}
	if c.sudo {
		cmd = "sudo -n " + cmd
	}
	return cmd
}

// Run runs program (`sh -c program`, under `sudo -n` when configured) with stdin as its standard
// input and waits for it, at most the configured timeout (or ctx's deadline, if sooner). A non-zero
// exit status is a Result, not an error. Errors name the host.
func (c *Conn) Run(ctx context.Context, program string, stdin []byte) (*Result, error) {
	return c.run(ctx, program, stdin, nil)
}

// Reply computes what an Exchange writes next from the program's first answer (its output up to
// and including the line that ends it): nil writes nothing more.
type Reply func(answer []byte) []byte

// Exchange runs program as Run does, as a conversation in one session: it writes request to the
// program's standard input, reads its output up to the first line equal to until after the first
// line (the end of the program's first answer), writes what reply returns for that answer, closes
// standard input and waits for the program to end. Result.Stdout holds all of the output, the
// first answer first. When the program ends before it prints until, reply is not called. The
// guarantees are Run's: output limits, sudo refusal (nothing ran: reply was not called),
// NotStarted, and the timeout, which bounds each part (up to the answer, then the rest) as it
// bounds a Run, so that reading and changing a host in one exchange has the time each had when
// they were two runs.
func (c *Conn) Exchange(ctx context.Context, program string, request []byte, until string, reply Reply) (*Result, error) {
	return c.run(ctx, program, request, newExchange(until, reply))
}

func newExchange(until string, reply Reply) *exchange {
	return &exchange{until: []byte("\n" + until + "\n"), reply: reply}
}

// exchange is the second part of an Exchange: the line that ends the first answer and the reply.
type exchange struct {
	until []byte
	reply Reply
}

// run is Run, and Exchange when ex is set.
func (c *Conn) run(ctx context.Context, program string, stdin []byte, ex *exchange) (*Result, error) {
	if !c.Alive() {
		return nil, fmt.Errorf("SSH connection to %s is closed: %w", c.Address, errSessionNotStarted)
	}
	// The timer bounds the run; an exchange restarts it when it replies (see Exchange).
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	startCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	select {
	case c.sessions <- struct{}{}:
		defer func() { <-c.sessions }()
	case <-startCtx.Done():
		return nil, fmt.Errorf("waiting for a free SSH session on %s: %w (%w)", c.Address, startCtx.Err(), errSessionNotStarted)
	}

	sess, err := c.openSession(startCtx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	tooMuch := make(chan string, 2)
	stdout := &cappedBuffer{name: "stdout", limit: MaxStdout, full: tooMuch}
	stderr := &cappedBuffer{name: "stderr", limit: MaxStderr, full: tooMuch}
	var answered chan []byte // the first answer of an exchange, once
	sess.Stdout = stdout
	if ex != nil {
		answered = make(chan []byte, 1)
		sess.Stdout = &answerWatch{out: stdout, until: ex.until, found: answered}
	}
	sess.Stderr = stderr
	in, err := sess.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("starting the helper on %s: %v: %w", c.Address, err, errSessionNotStarted)
	}
	if err := sess.Start(c.command(program)); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("starting the helper on %s: %v: %w", c.Address, err, errSessionNotStarted)
	}
	// Standard input is written by its own goroutine: a program that does not read it must not
	// stop this one from noticing the timeout, a flood or the program's end.
	next := make(chan []byte, 1)
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		defer in.Close()
		if _, err := in.Write(stdin); err != nil || ex == nil {
			return
		}
		select {
		case more := <-next:
			if len(more) > 0 {
				_, _ = in.Write(more)
			}
		case <-finished:
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	var stream string
wait:
	for {
		select {
		case answer := <-answered:
			answered = nil
			next <- ex.reply(answer)
			timer.Reset(c.timeout)
		case err = <-waited:
			select { // the flood may have ended the run before its report was seen
			case stream = <-tooMuch:
			default:
			}
			break wait
		case stream = <-tooMuch:
			break wait
		case <-timer.C:
			return nil, c.abandon(sess, fmt.Errorf("no answer within %s: %w", c.timeout, context.DeadlineExceeded))
		case <-ctx.Done():
			return nil, c.abandon(sess, fmt.Errorf("the caller gave up: %w", ctx.Err()))
		}
	}
	if stream != "" {
		// A host that floods the provider (compromised, or a shell profile gone wrong) must not
		// take its memory: stop reading and drop the connection, as for a lost one.
		_ = sess.Signal(ssh.SIGKILL)
		_ = c.Close()
		return nil, &OutputTooLargeError{Address: c.Address, Stream: stream, Limit: limitOf(stream)}
	}
	res := &Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitStatus = exitErr.ExitStatus()
	default:
		_ = c.Close()
		return nil, &ConnectionLostError{Address: c.Address, Err: err}
	}
	if c.sudo {
		if msg, refused := sudoRefusal(res); refused {
			return nil, &SudoError{Address: c.Address, User: c.User, Helper: installedPath(program), Message: msg}
		}
	}
	return res, nil
}

// abandon gives up on a session whose host or network stopped answering, or whose caller gave
// up. The command may still run; the connection is not trusted any more, so the pool dials afresh
// next time.
func (c *Conn) abandon(sess *ssh.Session, why error) error {
	_ = sess.Signal(ssh.SIGKILL)
	_ = c.Close()
	return &ConnectionLostError{Address: c.Address, Err: why}
}

// answerWatch passes a session's output to out and sends, once, the output up to and including
// the first until (a whole line: "\nLINE\n") on found. It runs in the session's copying goroutine.
type answerWatch struct {
	out     *cappedBuffer
	until   []byte
	found   chan<- []byte
	scanned int // bytes of out searched so far
	sent    bool
}

func (w *answerWatch) Write(p []byte) (int, error) {
	n, err := w.out.Write(p)
	if w.sent || n == 0 {
		return n, err
	}
	b := w.out.Bytes()
	from := max(0, w.scanned-len(w.until)+1)
	if i := bytes.Index(b[from:], w.until); i >= 0 {
		w.sent = true
		w.found <- bytes.Clone(b[:from+i+len(w.until)])
	}
	w.scanned = len(b)
	return n, err
}

// sudoRefusal tells whether sudo refused to start the program, from what proves it: sudo exits
// with status 1 when it refuses, and then nothing ran, so nothing is on stdout (the helper's first
// act is to print its header). A "sudo: " line on stderr alone proves nothing: sudo also prints
// warnings there ("unable to resolve host", "setrlimit(RLIMIT_CORE)") for programs it did run,
// and that program's own failure must stand. msg is sudo's last line, which names the refusal.
func sudoRefusal(res *Result) (msg string, refused bool) {
	if res.ExitStatus != 1 || len(res.Stdout) != 0 {
		return "", false
	}
	for _, line := range strings.Split(string(res.Stderr), "\n") {
		if strings.HasPrefix(line, "sudo: ") {
			msg = strings.TrimSpace(line)
		}
	}
	return Printable(msg), msg != ""
}

// openSession opens a session channel. A server that refuses the channel (sshd's MaxSessions set
// below this client's maxSessions, so other sessions are running) is asked again after a pause
// until ctx ends; the connection and the sessions on it stay up. Any other failure means the
// connection is broken: it is closed, so that the pool dials afresh.
func (c *Conn) openSession(ctx context.Context) (*ssh.Session, error) {
	pause := 20 * time.Millisecond
	for {
		sess, err := c.client.NewSession()
		if err == nil {
			return sess, nil
		}
		var refused *ssh.OpenChannelError
		if !errors.As(err, &refused) {
			_ = c.Close()
			return nil, fmt.Errorf("opening an SSH session on %s: %v: %w", c.Address, err, errSessionNotStarted)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s refused to open an SSH session (%v) until the timeout; raise MaxSessions in its sshd_config",
				c.Address, err)
		case <-time.After(pause):
		}
		if pause < time.Second {
			pause *= 2
		}
	}
}

// dialer dials one host, directly or through a bastion connection.
type dialer struct {
	cfg *Config
}

// dial opens an authenticated connection to address (host:port) as user, through via when not nil.
func (d dialer) dial(ctx context.Context, address, user string, hk *hostKeyCheck, via *Conn) (*Conn, error) {
	timeout := d.cfg.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	auth, closeAgent, err := d.cfg.authMethods()
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	cc := &ssh.ClientConfig{
		User:              user,
		Auth:              auth,
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algorithms,
		Timeout:           timeout,
	}

	var netConn net.Conn
	if via != nil {
		netConn, err = via.client.DialContext(ctx, "tcp", address)
		if err != nil {
			return nil, fmt.Errorf("bastion %s could not reach %s: %v", via.Address, address, err)
		}
	} else {
		var nd net.Dialer
		netConn, err = nd.DialContext(ctx, "tcp", address)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("connecting to %s: no answer within %s (ssh.timeout); check the address, the port and firewalls", address, timeout)
			}
			return nil, fmt.Errorf("connecting to %s: %v", address, err)
		}
	}

	type handshake struct {
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
		err   error
	}
	done := make(chan handshake, 1)
	go func() {
		c, chans, reqs, err := ssh.NewClientConn(netConn, address, cc)
		done <- handshake{c, chans, reqs, err}
	}()
	var hs handshake
	select {
	case hs = <-done:
	case <-ctx.Done():
		_ = netConn.Close()
		<-done
		return nil, fmt.Errorf("SSH handshake with %s: no answer within %s (ssh.timeout)", address, timeout)
	}
	if hs.err != nil {
		_ = netConn.Close()
		return nil, handshakeError(address, user, hs.err)
	}
	conn := &Conn{
		Address:  address,
		User:     user,
		client:   ssh.NewClient(hs.c, hs.chans, hs.reqs),
		sudo:     d.cfg.Sudo,
		timeout:  timeout,
		sessions: make(chan struct{}, maxSessions),
		dead:     make(chan struct{}),
	}
	go func() {
		_ = conn.client.Wait()
		_ = conn.Close()
	}()
	if every := d.cfg.keepalive(); every > 0 {
		go conn.keepalive(every)
	}
	return conn, nil
}

// keepalive probes the server every interval; a probe unanswered within the timeout closes the
// connection, so a dead peer is noticed before the next command rather than after a TCP timeout.
func (c *Conn) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case err := <-answered:
			if err != nil {
				_ = c.Close()
				return
			}
		case <-time.After(c.timeout):
			_ = c.Close()
			return
		case <-c.dead:
			return
		}
	}
}

// handshakeError turns x/crypto/ssh's handshake errors into messages that say what to do.
func handshakeError(address, user string, err error) error {
	var unknown *UnknownHostKeyError
	var changed *ChangedHostKeyError
	switch {
	case errors.As(err, &unknown):
		return unknown
	case errors.As(err, &changed):
		return changed
	case strings.Contains(err.Error(), "unable to authenticate"),
		// x/crypto/ssh reports a keyboard-interactive attempt that the server rejects without a
		// prompt (sshd without PAM) as this protocol error; it is an authentication failure.
		strings.Contains(err.Error(), "unexpected message type 51 (expected 60)"):
		return fmt.Errorf("SSH authentication as %q on %s failed (%s): check ssh.user and that the key (or agent key, or password) is accepted there (authorized_keys)",
			user, address, strings.TrimPrefix(err.Error(), "ssh: handshake failed: "))
	}
	if strings.Contains(err.Error(), "no common algorithm for host key") {
		return fmt.Errorf("SSH handshake with %s failed: it offers none of the host-key algorithms that known_hosts (or ssh.host_key) can verify for it (%v). "+
			"If known_hosts trusts it through a @cert-authority line, the host must present a host certificate signed by that CA (HostCertificate in its sshd_config)",
			address, err)
	}
	return fmt.Errorf("SSH handshake with %s failed: %w", address, err)
}
