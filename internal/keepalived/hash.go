package keepalived

import (
	"crypto/sha256"
	"encoding/hex"
)

// The SHA-256 of the expanded text (the data source's `sha256`).

// hashChunk is the size of the pieces the hashing goroutine is handed: each hand-over may wake
// it (a futex call and a thread switch), so fewer, larger pieces cost less.
const hashChunk = 256 << 10

// The SHA-256 of the expanded text is computed by its own goroutine, fed hashChunk-byte
// chunks, so that hashing overlaps reading on a machine with a spare core.
type hasher struct {
	chunks chan []byte
	free   chan []byte
	done   chan string
}

func newHasher() *hasher {
	h := &hasher{chunks: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan string, 1)}
	go func() {
		d := sha256.New()
		for c := range h.chunks {
			d.Write(c)
			select {
			case h.free <- c[:0]:
			default:
			}
		}
		h.done <- hex.EncodeToString(d.Sum(nil))
	}()
	return h
}

func (r *reader) sum() string {
	r.flushHash()
	close(r.hash.chunks)
	return <-r.hash.done
}

func (r *reader) flushHash() {
	if len(r.hbuf) == 0 {
		return
	}
	r.hash.chunks <- r.hbuf
	select {
	case r.hbuf = <-r.hash.free:
	default:
		r.hbuf = make([]byte, 0, hashChunk)
	}
}

func (r *reader) hashLine(s string) {
	if len(r.hbuf)+len(s)+1 > cap(r.hbuf) {
		r.flushHash()
		if len(s)+1 > cap(r.hbuf) {
			r.hbuf = make([]byte, 0, len(s)+1)
		}
	}
	r.hbuf = append(r.hbuf, s...)
	r.hbuf = append(r.hbuf, '\n')
}
