package sshhost_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/sshhost"
)

// cannedRunner answers every run with one result or error, as a host would.
type cannedRunner struct {
	res *sshconn.Result
	err error
}

func (c cannedRunner) Run(context.Context, string, string, []byte) (*sshconn.Result, error) {
	return c.res, c.err
}

// Text from the host (the helper's messages, stderr) reaches diagnostics with its control
// characters escaped: a host cannot clear the user's terminal, retitle it or fake output lines.
func TestRemoteTextIsEscaped(t *testing.T) {
	hostile := "\x1b[2J\x1b]0;owned\x07 \u202eevil\r"
	step := []target.Step{{Op: target.OpSetUp}}
	for name, res := range map[string]*sshconn.Result{
		"step message": {ExitStatus: 4, Stdout: []byte("vip-helper 1\nfail 0\nmsg " + hostile + "\n")},
		"stderr":       {ExitStatus: 127, Stderr: []byte(hostile + "\n")},
		"error line":   {ExitStatus: 3, Stdout: []byte("vip-helper 1\nerror proto " + hostile + "\n")},
	} {
		t.Run(name, func(t *testing.T) {
			h, err := sshhost.New(cannedRunner{res: res}, "rs1")
			if err != nil {
				t.Fatal(err)
			}
			err = h.Apply(context.Background(), "vip0", step)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, c := range []string{"\x1b", "\x07", "\r", "\u202e"} {
				if strings.Contains(msg, c) {
					t.Errorf("error holds the raw control character %q: %q", c, msg)
				}
			}
			if !strings.Contains(msg, `\x1b[2J`) {
				t.Errorf("error lacks the escaped text: %q", msg)
			}
		})
	}
}

// An apply that sudo refused, or whose session never started, ran nothing: Apply says so
// (target.ErrNotApplied), so that Converge does not record a partial apply.
func TestRemoteRefusedIsNotApplied(t *testing.T) {
	h, err := sshhost.New(cannedRunner{err: &sshconn.SudoError{Address: "rs1:22", User: "deploy", Message: "sudo: a password is required"}}, "rs1")
	if err != nil {
		t.Fatal(err)
	}
	err = h.Apply(context.Background(), "vip0", []target.Step{{Op: target.OpSetUp}})
	var se *sshconn.SudoError
	if !errors.Is(err, target.ErrNotApplied) || !errors.As(err, &se) {
		t.Fatalf("got %v", err)
	}
}
