package sshconn_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// An exchange over a real sshd: the program reads the request, answers up to its end line, reads
// what the reply wrote (or EOF), and ends; all in one SSH session of the pooled connection.
func TestExchange(t *testing.T) {
	f := newFixture(t, sshtest.Options{})
	addr := f.srv.Addr()
	pool := sshconn.NewPool(f.config())
	defer pool.Close()
	ctx := context.Background()
	// The program answers its first line, then "end", then echoes the rest of its input.
	const program = `read a; echo "first $a"; echo end; echo "not yet" >&2; while read b; do echo "then $b"; done; echo eof`
	if _, err := pool.Run(ctx, addr, "true", nil); err != nil { // dial first: only sessions are counted
		t.Fatal(err)
	}
	sessions := func() int { return strings.Count(f.srv.Log(), "ctype session") }
	before := sessions()

	var answer string
	res, err := pool.Exchange(ctx, addr, program, []byte("one\n"), "end", func(a []byte) []byte {
		answer = string(a)
		return []byte("two\nthree\n")
	})
	if err != nil || res.ExitStatus != 0 {
		t.Fatalf("exchange: %v %+v", err, res)
	}
	if answer != "first one\nend\n" || string(res.Stdout) != "first one\nend\nthen two\nthen three\neof\n" || string(res.Stderr) != "not yet\n" {
		t.Fatalf("answer %q, stdout %q, stderr %q", answer, res.Stdout, res.Stderr)
	}
	if got := sessions() - before; got != 1 {
		t.Errorf("one exchange took %d SSH sessions, want 1", got)
	}

	// A nil reply writes nothing: the program reads EOF.
	res, err = pool.Exchange(ctx, addr, program, []byte("one\n"), "end", func([]byte) []byte { return nil })
	if err != nil || string(res.Stdout) != "first one\nend\neof\n" {
		t.Fatalf("nil reply: %v %q", err, res.Stdout)
	}

	// A program that ends before its end line: reply is not called, the Result is as Run's.
	called := false
	res, err = pool.Exchange(ctx, addr, `echo "error nothing"; exit 3`, []byte("one\n"), "end", func([]byte) []byte {
		called = true
		return nil
	})
	if err != nil || called || res.ExitStatus != 3 || string(res.Stdout) != "error nothing\n" {
		t.Fatalf("early end: %v, reply called %v, %+v", err, called, res)
	}

	// The end line is a whole line: "end" inside another line, or split across writes, counts
	// only as a whole line.
	res, err = pool.Exchange(ctx, addr, `read a; printf "x end\nen"; sleep 0.2; printf "d\nmore\n"; read b; echo "got $b"`, []byte("one\n"), "end",
		func(a []byte) []byte {
			answer = string(a)
			return []byte("two\n")
		})
	if err != nil || answer != "x end\nend\n" || string(res.Stdout) != "x end\nend\nmore\ngot two\n" {
		t.Fatalf("split end line: %v, answer %q, stdout %q", err, answer, res.Stdout)
	}
	if pool.Dials() != 1 {
		t.Errorf("%d dials, want 1", pool.Dials())
	}
}

// The guarantees of Run hold for an exchange: a program that never ends its answer times out
// (connection dropped, as for a lost one); a flood after the answer is cut at the cap; sudo's
// refusal is a SudoError, with reply never called.
func TestExchangeBounded(t *testing.T) {
	f := newFixture(t, sshtest.Options{})
	addr := f.srv.Addr()
	ctx := context.Background()
	never := func(t *testing.T) sshconn.Reply {
		return func(a []byte) []byte {
			t.Errorf("reply called with %q", a)
			return nil
		}
	}

	cfg := f.config()
	cfg.Timeout = 2 * time.Second
	pool := sshconn.NewPool(cfg)
	defer pool.Close()
	start := time.Now()
	_, err := pool.Exchange(ctx, addr, "echo hello; sleep 30", nil, "end", never(t))
	var lost *sshconn.ConnectionLostError
	if !errors.As(err, &lost) || time.Since(start) > 10*time.Second {
		t.Fatalf("an answer that never ends: %v after %s", err, time.Since(start))
	}

	// The timeout bounds each part: 1.5 s before the answer and 1.5 s after it pass under 2 s.
	start = time.Now()
	res, err := pool.Exchange(ctx, addr, "sleep 1.5; echo a; echo end; read a; sleep 1.5; echo $a", nil, "end", func([]byte) []byte { return []byte("b\n") })
	if err != nil || string(res.Stdout) != "a\nend\nb\n" || time.Since(start) < 3*time.Second {
		t.Fatalf("two parts each within the timeout: %v %+v after %s", err, res, time.Since(start))
	}

	pool = sshconn.NewPool(f.config())
	defer pool.Close()
	_, err = pool.Exchange(ctx, addr, "echo end; echo end; read a; head -c 300000000 /dev/zero", nil, "end", func([]byte) []byte { return []byte("go\n") })
	var tooMuch *sshconn.OutputTooLargeError
	if !errors.As(err, &tooMuch) {
		t.Fatalf("a flood after the answer: %v", err)
	}

	user := sshtest.AddUser(t, "x-Pass-3")
	sshtest.AllowSudo(t, user, false)
	cfg = f.config()
	cfg.User, cfg.Sudo = user, true
	pool = sshconn.NewPool(cfg)
	defer pool.Close()
	_, err = pool.Exchange(ctx, addr, "echo start; echo end; read a", []byte("x\n"), "end", never(t))
	var se *sshconn.SudoError
	if !errors.As(err, &se) || !sshconn.NotStarted(err) {
		t.Fatalf("sudo refusal: %v", err)
	}
}
