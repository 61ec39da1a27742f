package sshconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// Pool keeps one connection per (host, user, port) for the whole provider process, shared by the
// plan, apply and refresh of every resource on that host. A connection that died (keepalive
// failure, sshd restart) is replaced on next use. The bastion connection, if any, is pooled too.
type Pool struct {
	cfg Config

	mu      sync.Mutex
	closed  bool
	entries map[string]*entry // key: user@host:port
	bastion *entry

	dials atomic.Int64
}

type entry struct {
	mu   sync.Mutex // held while dialing, so that concurrent users of one host share one dial
	conn *Conn

	batchMu  sync.Mutex
	batchers map[string]*batcher // key: program text (see Batch)
}

// NewPool returns an empty pool for cfg. Nothing is dialed until Run or Get.
func NewPool(cfg Config) *Pool {
	return &Pool{cfg: cfg, entries: map[string]*entry{}}
}

// Config returns the pool's configuration.
func (p *Pool) Config() *Config { return &p.cfg }

// Dials is the number of SSH connections the pool has opened so far (bastion included).
func (p *Pool) Dials() int { return int(p.dials.Load()) }

// Address canonicalizes a resource's host (`host`, `host:port`, `[v6]:port`) to host:port with the
// configured default port.
func (p *Pool) Address(host string) (string, error) {
	h, port, err := HostPort(host, p.cfg.port())
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(h, strconv.Itoa(port)), nil
}

// entry returns host's pool entry, creating it, and the canonical address.
func (p *Pool) entry(host string) (*entry, string, error) {
	address, err := p.Address(host)
	if err != nil {
		return nil, "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, "", errors.New("the SSH connection pool is closed (the provider is stopping)")
	}
	key := p.cfg.User + "@" + address
	e := p.entries[key]
	if e == nil {
		e = &entry{}
		p.entries[key] = e
	}
	return e, address, nil
}

// Get returns the pooled connection to host, dialing it if there is none or it died.
func (p *Pool) Get(ctx context.Context, host string) (*Conn, error) {
	e, address, err := p.entry(host)
	if err != nil {
		return nil, err
	}
	user := p.cfg.User

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil && e.conn.Alive() {
		return e.conn, nil
	}
	var via *Conn
	if p.cfg.Bastion != nil {
		if via, err = p.bastionConn(ctx); err != nil {
			return nil, err
		}
	}
	hk, err := hostKeyPolicy(address, p.cfg.HostKey, p.cfg.KnownHostsFiles, p.cfg.InsecureIgnoreHostKey)
	if err != nil {
		return nil, err
	}
	conn, err := dialer{&p.cfg}.dial(ctx, address, user, hk, via)
	if err != nil {
		return nil, err
	}
	p.dials.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = conn.Close()
		return nil, errors.New("the SSH connection pool is closed (the provider is stopping)")
	}
	e.conn = conn
	return conn, nil
}

func (p *Pool) bastionConn(ctx context.Context) (*Conn, error) {
	b := p.cfg.Bastion
	p.mu.Lock()
	if p.bastion == nil {
		p.bastion = &entry{}
	}
	e := p.bastion
	p.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil && e.conn.Alive() {
		return e.conn, nil
	}
	h, port, err := HostPort(b.Address, 22)
	if err != nil {
		return nil, fmt.Errorf("ssh.bastion.host: %w", err)
	}
	address := net.JoinHostPort(h, strconv.Itoa(port))
	user := b.User
	if user == "" {
		user = p.cfg.User
	}
	hk, err := hostKeyPolicy(address, b.HostKey, p.cfg.KnownHostsFiles, p.cfg.InsecureIgnoreHostKey)
	if err != nil {
		return nil, err
	}
	conn, err := dialer{&p.cfg}.dial(ctx, address, user, hk, nil)
	if err != nil {
		return nil, fmt.Errorf("bastion: %w", err)
	}
	conn.sudo = false // the bastion only forwards
	p.dials.Add(1)
	e.conn = conn
	return conn, nil
}

// Run runs program on host over the pooled connection (see Conn.Run).
func (p *Pool) Run(ctx context.Context, host, program string, stdin []byte) (*Result, error) {
	return p.run(ctx, host, program, stdin, nil)
}

// Exchange runs an exchange (see Conn.Exchange) with program on host over the pooled connection,
// in a session of its own (never batched).
func (p *Pool) Exchange(ctx context.Context, host, program string, request []byte, until string, reply Reply) (*Result, error) {
	return p.run(ctx, host, program, request, newExchange(until, reply))
}

// run is Run, and Exchange when ex is set. When the pooled connection turns out to be dead before
// the program started (so an exchange's reply was not called either), it dials once more and
// retries; a program that may have started is never re-run.
func (p *Pool) run(ctx context.Context, host, program string, stdin []byte, ex *exchange) (*Result, error) {
	for attempt := 0; ; attempt++ {
		conn, err := p.Get(ctx, host)
		if err != nil {
			return nil, err
		}
		res, err := conn.run(ctx, program, stdin, ex)
		if err != nil && errors.Is(err, errSessionNotStarted) && attempt == 0 && ctx.Err() == nil {
			continue
		}
		return res, err
	}
}

// Close closes every pooled connection. The pool refuses further use.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := make([]*entry, 0, len(p.entries)+1)
	for _, e := range p.entries {
		entries = append(entries, e)
	}
	if p.bastion != nil {
		entries = append(entries, p.bastion)
	}
	p.mu.Unlock()
	var errs []error
	for _, e := range entries {
		e.mu.Lock()
		if e.conn != nil {
			if err := e.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		e.mu.Unlock()
	}
	return errors.Join(errs...)
}
