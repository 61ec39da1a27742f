package sshhost_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/sshhost"
)

// remote is a real sshd inside a network namespace, reached over a veth pair, with the pool the
// provider would use. The host kernel has no dummy driver, so the tests work on the namespace's
// end of the veth (kind "veth"); the lab tests cover dummies.
type remote struct {
	ns   *sshtest.Netns
	srv  *sshtest.Server
	pool *sshconn.Pool
	host *sshhost.Host
}

func newRemote(t *testing.T) *remote { return newRemoteTB(t) }

func newRemoteTB(t testing.TB) *remote { return newRemoteWith(t, sshtest.Options{}, nil) }

// newRemoteWith is newRemote with more sshd options and a change to the pool's configuration.
func newRemoteWith(t testing.TB, opts sshtest.Options, configure func(*sshconn.Config)) *remote {
	t.Helper()
	sshtest.Require(t)
	dir := t.TempDir()
	priv, pub := sshtest.KeyGen(t, dir, "client", "ed25519", "")
	ns := sshtest.NewNetns(t)
	opts.Netns, opts.ListenAddr = ns.Name, ns.NsAddr
	opts.AuthorizedKeys = append(opts.AuthorizedKeys, strings.TrimSpace(sshtest.ReadFile(t, pub)))
	srv := sshtest.Start(t, opts)
	signer, err := sshconn.ParseSigner("client", []byte(sshtest.ReadFile(t, priv)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := sshconn.ParsePublicKey(srv.HostKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg := sshconn.Config{User: "root", Signers: []ssh.Signer{signer}, HostKey: pin, Timeout: 10 * time.Second}
	if configure != nil {
		configure(&cfg)
	}
	pool := sshconn.NewPool(cfg)
	t.Cleanup(func() { _ = pool.Close() })
	h, err := sshhost.New(pool, ns.NsAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &remote{ns: ns, srv: srv, pool: pool, host: h}
}

// sessions is the number of SSH sessions sshd has opened so far (its log's channel opens).
func (r *remote) sessions() int { return strings.Count(r.srv.Log(), "ctype session") }

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestRemoteObserveAndApply(t *testing.T) {
	r := newRemote(t)
	ctx := context.Background()
	ifn := target.IfName(r.ns.NsIf)
	sc := []target.Sysctl{{Interface: "all", Key: "arp_ignore"}, {Interface: string(ifn), Key: "arp_announce"}}

	obs, err := r.host.Observe(ctx, ifn, sc)
	if err != nil {
		t.Fatal(err)
	}
	if !obs.Link.Exists || obs.Link.Kind != "veth" || !obs.Link.Up || obs.Link.Index == 0 {
		t.Fatalf("observed %+v", obs.Link)
	}
	if !slices.Contains(obs.Link.Addresses, netip.MustParsePrefix(r.ns.NsAddr+"/30")) || len(obs.Sysctls) != 2 {
		t.Fatalf("observed %+v, sysctls %v", obs.Link.Addresses, obs.Sysctls)
	}

	steps := []target.Step{
		{Op: target.OpSetSysctl, Sysctl: sc[0], Value: 1},
		{Op: target.OpSetSysctl, Sysctl: sc[1], Value: 2},
		{Op: target.OpSetAlias, Alias: target.AliasPrefix + "all=0/0"},
		{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("192.0.2.1/32")},
		{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("192.0.2.2/32")},
		{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("2001:db8::5/128")},
	}
	if err := r.host.Apply(ctx, ifn, steps); err != nil {
		t.Fatal(err)
	}
	obs, err = r.host.Observe(ctx, ifn, sc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prefixes("192.0.2.1/32", "192.0.2.2/32", "2001:db8::5/128") {
		if !slices.Contains(obs.Link.Addresses, p) {
			t.Errorf("%s missing after apply: %v", p, obs.Link.Addresses)
		}
	}
	if obs.Sysctls[sc[0]] != 1 || obs.Sysctls[sc[1]] != 2 {
		t.Errorf("sysctls %v", obs.Sysctls)
	}
	if obs.Link.Alias != target.AliasPrefix+"all=0/0" || obs.Managed[ifn] != obs.Link.Alias {
		t.Errorf("alias %q, managed %v", obs.Link.Alias, obs.Managed)
	}
	// The namespace really holds them (checked with ip, not through the helper).
	if out := r.ns.Exec(t, "ip", "-o", "addr", "show", "dev", r.ns.NsIf); !strings.Contains(out, "192.0.2.2/32") {
		t.Errorf("ip shows %s", out)
	}

	// A batch that fails in its middle: the error names the failing step (index and address) and
	// the host; the steps before it are done, the steps after it are not.
	steps = []target.Step{
		{Op: target.OpDelAddress, Prefix: netip.MustParsePrefix("192.0.2.1/32")},
		{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("192.0.2.2/32")}, // already there
		{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("192.0.2.3/32")},
	}
	err = r.host.Apply(ctx, ifn, steps)
	var se *target.StepError
	if !errors.As(err, &se) || se.Index != 1 || !strings.Contains(err.Error(), "already on the link") || !strings.Contains(err.Error(), r.ns.NsAddr) {
		t.Fatalf("want StepError at 1, got %v", err)
	}
	obs, _ = r.host.Observe(ctx, ifn, nil)
	if slices.Contains(obs.Link.Addresses, netip.MustParsePrefix("192.0.2.1/32")) || slices.Contains(obs.Link.Addresses, netip.MustParsePrefix("192.0.2.3/32")) {
		t.Errorf("after the failed batch: %v", obs.Link.Addresses)
	}

	// The kernel has no dummy driver here: creating one fails with a hint, naming the host.
	err = r.host.Apply(ctx, "vipdummy0", []target.Step{{Op: target.OpCreateDummy}, {Op: target.OpSetUp}})
	if !errors.As(err, &se) || se.Index != 0 || !strings.Contains(err.Error(), r.ns.NsAddr) {
		t.Fatalf("create dummy: %v", err)
	}
	t.Log(err)

	// The convergence logic above the Target refuses to touch a non-dummy, over SSH as locally,
	// in the one session that read it.
	before := r.sessions()
	_, err = target.Converge(ctx, r.host, target.Spec{Name: ifn, Addresses: prefixes("192.0.2.7/32"), Exclusive: true,
		ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []target.IfName{"all"}})
	var nd *target.NotDummyError
	if !errors.As(err, &nd) {
		t.Fatalf("converge on a veth: %v", err)
	}
	if n := r.sessions() - before; n != 1 {
		t.Errorf("a converge refused after its read took %d SSH sessions; want 1", n)
	}

	if r.pool.Dials() != 1 || r.srv.Connections() != 1 {
		t.Errorf("dials %d, sshd connections %d; want 1", r.pool.Dials(), r.srv.Connections())
	}
}

// Killing sshd between two applies: the apply in flight or the next one fails with an error
// naming the host; after sshd is back, the pool dials afresh and the state is readable.
func TestRemoteSSHDKilled(t *testing.T) {
	r := newRemote(t)
	ctx := context.Background()
	ifn := target.IfName(r.ns.NsIf)
	if _, err := r.host.Observe(ctx, ifn, nil); err != nil {
		t.Fatal(err)
	}
	r.srv.Stop()
	err := r.host.Apply(ctx, ifn, []target.Step{{Op: target.OpAddAddress, Prefix: netip.MustParsePrefix("192.0.2.10/32")}})
	if err == nil || !strings.Contains(err.Error(), r.ns.NsAddr) {
		t.Fatalf("apply with sshd down: %v", err)
	}
	t.Log(err)
	r.srv.Restart()
	obs, err := r.host.Observe(ctx, ifn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(obs.Link.Addresses, netip.MustParsePrefix("192.0.2.10/32")) {
		t.Errorf("address added although the apply failed")
	}
	if r.pool.Dials() != 2 {
		t.Errorf("dials = %d, want 2", r.pool.Dials())
	}
}

// BenchmarkRemoteObserve is one Observe (one SSH session running the helper, `ip -d -j addr
// show`, 3 sysctl reads) over the pooled connection to a real sshd in a network namespace.
//
//	go test ./internal/target/sshhost -run '^$' -bench Remote
func BenchmarkRemoteObserve(b *testing.B) {
	r := newRemoteTB(b)
	ctx := context.Background()
	sc := []target.Sysctl{{Interface: "all", Key: "arp_ignore"}, {Interface: "all", Key: "arp_announce"}, {Interface: r.ns.NsIf, Key: "promote_secondaries"}}
	if _, err := r.host.Observe(ctx, target.IfName(r.ns.NsIf), sc); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.host.Observe(ctx, target.IfName(r.ns.NsIf), sc); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if r.srv.Connections() != 1 {
		b.Errorf("%d connections", r.srv.Connections())
	}
}

// BenchmarkRemoteDial is what every Observe would cost on top without the pool: a new TCP
// connection, key exchange, host-key check and public-key authentication.
func BenchmarkRemoteDial(b *testing.B) {
	r := newRemoteTB(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := sshconn.NewPool(*r.pool.Config())
		if _, err := p.Get(ctx, r.ns.NsAddr); err != nil {
			b.Fatal(err)
		}
		_ = p.Close()
	}
}

// TestRemoteObserveBatched: concurrent Observe calls on one host share helper sessions (counted at
// sshd), and each gets its own link and only the sysctls it asked for.
func TestRemoteObserveBatched(t *testing.T) {
	r := newRemote(t)
	ctx := context.Background()
	ifn := target.IfName(r.ns.NsIf)
	// Warm up: the connection is dialed before the concurrent calls.
	if _, err := r.host.Observe(ctx, ifn, nil); err != nil {
		t.Fatal(err)
	}
	sessionsBefore := strings.Count(r.srv.Log(), "ctype session")
	const n = 30
	type answer struct {
		obs target.Observation
		err error
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	done := make(chan int)
	for i := range n {
		go func() {
			<-start
			name, sc := ifn, []target.Sysctl{{Interface: "all", Key: "arp_ignore"}}
			if i%2 == 1 {
				name = target.IfName("nosuch" + strconv.Itoa(i))
				sc = []target.Sysctl{{Interface: "default", Key: "arp_announce"}}
			}
			answers[i].obs, answers[i].err = r.host.Observe(ctx, name, sc)
			done <- i
		}()
	}
	close(start)
	for range n {
		<-done
	}
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("observe %d: %v", i, a.err)
		case a.obs.Link.Exists != (i%2 == 0):
			t.Errorf("observe %d: link %+v", i, a.obs.Link)
		case len(a.obs.Sysctls) != 1:
			t.Errorf("observe %d: sysctls %v, want only its own", i, a.obs.Sysctls)
		}
	}
	sessions := strings.Count(r.srv.Log(), "ctype session") - sessionsBefore
	t.Logf("%d concurrent observes in %d SSH sessions", n, sessions)
	if sessions <= 0 || sessions >= n {
		t.Errorf("%d concurrent observes took %d SSH sessions; want them coalesced", n, sessions)
	}
}

// TestRemoteRefreshSharesOneSnapshot: the reads of a refresh (Refreshing) of one host cost one
// helper session however many resources there are, each read still gets its own link and only
// its own sysctls, and an Apply through the host drops the snapshot so the next read sees the
// change (sessions counted at sshd).
func TestRemoteRefreshSharesOneSnapshot(t *testing.T) {
	r := newRemote(t)
	ctx := context.Background()
	ifn := target.IfName(r.ns.NsIf)
	snaps := sshhost.NewSnapshots(time.Minute, time.Minute)
	reader, writer := r.host.Refreshing(snaps), r.host.WithSnapshots(snaps)
	if _, err := r.pool.Get(ctx, r.ns.NsAddr); err != nil { // dial first: only sessions are counted
		t.Fatal(err)
	}
	sessionsBefore := strings.Count(r.srv.Log(), "ctype session")
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			name, sc := ifn, []target.Sysctl{{Interface: "all", Key: "arp_ignore"}}
			if i%2 == 1 {
				name = target.IfName("nosuch" + strconv.Itoa(i))
			}
			obs, err := reader.Observe(ctx, name, sc)
			switch {
			case err != nil:
			case obs.Link.Exists != (i%2 == 0):
				err = fmt.Errorf("read %d: link %+v", i, obs.Link)
			case len(obs.Sysctls) != 1:
				err = fmt.Errorf("read %d: sysctls %v, want only its own", i, obs.Sysctls)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := strings.Count(r.srv.Log(), "ctype session") - sessionsBefore; got != 1 {
		t.Errorf("%d reads of one host in a refresh took %d SSH sessions; want 1", n, got)
	}

	vip := netip.MustParsePrefix("192.0.2.77/32")
	if err := writer.Apply(ctx, ifn, []target.Step{{Op: target.OpAddAddress, Prefix: vip}}); err != nil {
		t.Fatal(err)
	}
	obs, err := reader.Observe(ctx, ifn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(obs.Link.Addresses, vip) {
		t.Errorf("read after an apply answered from the old snapshot: %v lacks %s", obs.Link.Addresses, vip)
	}
}
