package sshhost_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/sshhost"
)

// ssh.helper_path over a real sshd and the real sudo: the helper installed as a root-owned file,
// and a sudoers rule that allows the login user exactly that file with no arguments (the line the
// provider documentation shows). Observe and apply run as root through it; sending the program
// to `sudo -n sh -c` is refused, as the rule allows no shell.
func TestRemoteInstalledHelperUnderNarrowSudo(t *testing.T) {
	user := sshtest.AddUser(t, "x-Helper-1")
	dir, err := os.MkdirTemp("", "vip-libexec") //nolint:usetesting // must be reachable by the login user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "vip-helper")
	sshtest.WriteFile(t, helper, sshhost.Script, 0o755) // install -o root -m 0755 helper.sh
	sshtest.AllowSudoRule(t, user, user+" ALL=(root) NOPASSWD: "+helper+` ""`+"\n")

	r := newRemoteWith(t, sshtest.Options{}, func(c *sshconn.Config) { c.User, c.Sudo = user, true })
	ctx := context.Background()
	ifn := target.IfName(r.ns.NsIf)
	installed := r.host.WithInstalledHelper(helper)
	alias := target.AliasPrefix + "all=0/0"
	if err := installed.Apply(ctx, ifn, []target.Step{{Op: target.OpSetAlias, Alias: alias}}); err != nil {
		t.Fatalf("apply through the installed helper: %v", err)
	}
	obs, err := installed.Observe(ctx, ifn, nil)
	if err != nil || obs.Link.Alias != alias {
		t.Fatalf("observe through the installed helper: %+v %v", obs.Link, err)
	}

	// A converge's session (read, then the change decided from it) runs the installed helper too.
	before := r.sessions()
	alias2 := target.AliasPrefix + "all=1/2"
	applied, err := installed.ObserveAndApply(ctx, ifn, nil, func(obs target.Observation) ([]target.Step, error) {
		return append(target.Expectations(obs, ifn, nil), target.Step{Op: target.OpSetAlias, Alias: alias2}), nil
	})
	if err != nil || !applied.Decided || applied.Observation.Link.Alias != alias || applied.Index != obs.Link.Index {
		t.Fatalf("converge through the installed helper: %+v %v", applied, err)
	}
	if n := r.sessions() - before; n != 1 {
		t.Errorf("the converge took %d SSH sessions, want 1", n)
	}
	if obs, err := installed.Observe(ctx, ifn, nil); err != nil || obs.Link.Alias != alias2 {
		t.Fatalf("after the converge: %+v %v", obs.Link, err)
	}

	// The same user cannot run the sent program: sudoers allows the helper file only.
	_, err = r.host.Observe(ctx, ifn, nil)
	var se *sshconn.SudoError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "helper_path") {
		t.Fatalf("sending the program under the narrow rule: want a sudo refusal that points to helper_path, got %v", err)
	}

	// A helper that is not there is a clear error naming the path.
	_, err = r.host.WithInstalledHelper(filepath.Join(dir, "missing")).Observe(ctx, ifn, nil)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing helper: %v", err)
	}
	t.Logf("missing helper: %v", err)
}
