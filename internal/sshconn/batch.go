package sshconn

import (
	"context"
	"slices"
	"sync"
)

// MaxBatch is the most items one batched run carries (the vip helper's limit of names per observe).
const MaxBatch = 256

// batcher coalesces concurrent runs of one program on one host: while a run is in flight, later
// calls queue, and the next run serves every queued call in one SSH session. Under terraform's
// parallel refresh this turns one session per resource into about one per host per round trip.
type batcher struct {
	mu      sync.Mutex
	running bool
	queue   []*batchCall
}

type batchCall struct {
	ctx  context.Context
	item []byte
	done chan struct{} // closed when res/err are set
	res  *Result
	idx  int
	err  error
}

// BatchEncoder builds one request from several callers' items. Every caller of Pool.Batch for
// one (host, program) must pass an equivalent encoder: the one of whichever call leads a run is used.
type BatchEncoder func(items [][]byte) ([]byte, error)

// Batch runs program on host for item, together with the other items queued for the same host
// and program: encode turns the items into the request sent on stdin. It returns the run's shared
// Result and the index of item in the request (the caller reads its own part of the answer).
// A run is never started for a caller that already gave up; a caller that gives up while its run
// is in flight returns at once and the run's answer is dropped for it.
func (p *Pool) Batch(ctx context.Context, host, program string, item []byte, encode BatchEncoder) (*Result, int, error) {
	b, err := p.batcher(host, program)
	if err != nil {
		return nil, 0, err
	}
	c := &batchCall{ctx: ctx, item: item, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if !b.running {
		b.running = true
		// The run must outlive a caller that gives up (the others wait on it); Conn.Run still
		// bounds it by the configured timeout.
		go p.drain(context.WithoutCancel(ctx), b, host, program, encode)
	}
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.res, c.idx, c.err
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// drain runs the queued calls, up to MaxBatch per session, until the queue is empty.
func (p *Pool) drain(ctx context.Context, b *batcher, host, program string, encode BatchEncoder) {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		n := min(len(b.queue), MaxBatch)
		queued := slices.Clone(b.queue[:n])
		b.queue = slices.Delete(b.queue, 0, n)
		b.mu.Unlock()
		// Callers that gave up while queued are not sent: nothing runs for them.
		var calls []*batchCall
		for _, c := range queued {
			if err := c.ctx.Err(); err != nil {
				c.err = err
				close(c.done)
				continue
			}
			calls = append(calls, c)
		}
		if len(calls) == 0 {
			continue
		}
		items := make([][]byte, len(calls))
		for i, c := range calls {
			items[i] = c.item
		}
		var res *Result
		req, err := encode(items)
		if err == nil {
			res, err = p.Run(ctx, host, program, req)
		}
		for i, c := range calls {
			c.res, c.idx, c.err = res, i, err
			close(c.done)
		}
	}
}

// batcher returns the batcher of (host, program), kept with the host's pooled connection entry.
func (p *Pool) batcher(host, program string) (*batcher, error) {
	e, _, err := p.entry(host)
	if err != nil {
		return nil, err
	}
	e.batchMu.Lock()
	defer e.batchMu.Unlock()
	if e.batchers == nil {
		e.batchers = map[string]*batcher{}
	}
	b := e.batchers[program]
	if b == nil {
		b = &batcher{}
		e.batchers[program] = b
	}
	return b, nil
}
