// Package sshhost is the Target for a real server reached over SSH. It runs a small embedded POSIX
// sh program (helper.sh) on the server over the provider's pooled connection to that host: one
// SSH session per Apply, one per ObserveAndApply (a converge reads and changes the host in one
// session), and one per Observe, except that Observe calls made while another is in flight on the
// host wait and then share one session (terraform refreshes resources in parallel), and that the
// Observe calls of a refresh (Refreshing) share one snapshot of the host.
// The program text is fixed; the validated request (interface names, sysctls, addresses) travels
// as data on the session's standard input, and the helper checks every field again against a
// fixed character set before it runs anything.
package sshhost

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// Script is the helper program. It contains no single quote, so that it can travel as one
// single-quoted word (`sh -c '<Script>'`).
//
//go:embed helper.sh
var Script string

// protocolHeader is the first line of every request and of every helper answer.
const protocolHeader = "vip-helper 1"

// Runner runs the helper on one host: *sshconn.Pool in the provider.
type Runner interface {
	Run(ctx context.Context, host, program string, stdin []byte) (*sshconn.Result, error)
}

// Batcher is a Runner that coalesces concurrent observe requests to one host into one helper
// session (*sshconn.Pool does): see sshconn.Pool.Batch.
type Batcher interface {
	Batch(ctx context.Context, host, program string, item []byte, encode sshconn.BatchEncoder) (*sshconn.Result, int, error)
}

// Exchanger runs the helper on one host as a conversation in one session (*sshconn.Pool does):
// see sshconn.Conn.Exchange. ObserveAndApply needs it to read and apply in one session.
type Exchanger interface {
	Exchange(ctx context.Context, host, program string, request []byte, until string, reply sshconn.Reply) (*sshconn.Result, error)
}

// Host is one real server.
type Host struct {
	runner Runner
	host   string // as the resource names it (host, host:port, [v6]:port)

	snaps   *Snapshots // nil: every Observe runs the helper
	key     string     // the host's key in snaps: its canonical address when the runner knows it
	refresh bool       // Observe may answer from snaps (see Refreshing)

	installed string // the installed helper's path (WithInstalledHelper); "" sends Script
}

// WithInstalledHelper returns a copy of h that runs the helper installed at path on the host
// (ssh.helper_path: a root-owned copy of Script, so that sudoers can allow exactly that file)
// instead of sending Script to `sh -c`. The request still travels on stdin.
func (h *Host) WithInstalledHelper(path string) *Host {
	c := *h
	c.installed = path
	return &c
}

// program is what the runner runs: the installed helper, or Script.
func (h *Host) program() string {
	if h.installed != "" {
		return sshconn.Installed(h.installed)
	}
	return Script
}

// Addresser canonicalizes a host (*sshconn.Pool does), so that `rs1` and `rs1:22` share one
// snapshot.
type Addresser interface {
	Address(host string) (string, error)
}

var _ target.ObservingApplier = (*Host)(nil)

// New returns the Target for host, reached through runner.
func New(runner Runner, host string) (*Host, error) {
	if _, _, err := sshconn.HostPort(host, 22); err != nil {
		return nil, err
	}
	return &Host{runner: runner, host: host}, nil
}

// WithSnapshots returns a copy of h that keeps snaps up to date: its Apply drops the host's
// snapshot. Its Observe still runs the helper, as convergence must see the host as it is now.
func (h *Host) WithSnapshots(snaps *Snapshots) *Host {
	c := *h
	c.snaps, c.key, c.refresh = snaps, h.host, false
	if a, ok := h.runner.(Addresser); ok {
		if key, err := a.Address(h.host); err == nil {
			c.key = key
		}
	}
	return &c
}

// Refreshing returns a copy of h whose Observe answers from the host's snapshot in snaps while it
// is fresh, and otherwise takes a new one: for Terraform's refresh, which reads every resource of
// a host in one burst and changes nothing.
func (h *Host) Refreshing(snaps *Snapshots) *Host {
	c := h.WithSnapshots(snaps)
	c.refresh = true
	return c
}

// Observe reads the link, every link's alias (through `ip -d -j addr show`) and the sysctls in one
// SSH session. With a Batcher, concurrent Observe calls for the host share one session: one
// request names all their interfaces and the union of their sysctls, and each reads its own part
// of the one answer. A Refreshing host answers from its snapshot while that is fresh; the name is
// checked here because such an answer sends no request.
func (h *Host) Observe(ctx context.Context, ifname target.IfName, sysctls []target.Sysctl) (target.Observation, error) {
	if _, err := target.ParseIfName(string(ifname)); err != nil {
		return target.Observation{}, err
	}
	var view *hostView
	var err error
	if h.refresh && h.snaps != nil {
		view, err = h.snaps.observe(ctx, h.key, sysctls, func(ctx context.Context, sysctls []target.Sysctl) (*hostView, error) {
			return h.observe(ctx, ifname, sysctls)
		})
	} else {
		view, err = h.observe(ctx, ifname, sysctls)
	}
	if err != nil {
		return target.Observation{}, err
	}
	obs, err := view.observation(ifname, sysctls)
	if err != nil {
		return target.Observation{}, fmt.Errorf("on %s: %w", h.host, err)
	}
	return obs, nil
}

// observe runs one observe request (shared with concurrent ones when the runner batches) and
// returns the helper's answer, which holds every link of the host.
func (h *Host) observe(ctx context.Context, ifname target.IfName, sysctls []target.Sysctl) (*hostView, error) {
	req, err := EncodeObserve(ifname, sysctls)
	if err != nil {
		return nil, err
	}
	var res *sshconn.Result
	if b, ok := h.runner.(Batcher); ok {
		res, _, err = b.Batch(ctx, h.host, h.program(), req, MergeObserve)
	} else {
		res, err = h.runner.Run(ctx, h.host, h.program(), req)
	}
	if err != nil {
		return nil, err
	}
	out, err := h.check(res)
	if err != nil {
		return nil, err
	}
	view, err := parseObserve(out)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", h.host, err)
	}
	return view, nil
}

// MergeObserve merges observe requests built by EncodeObserve into one: all their interface
// names on the observe line (each once) and the union of their sysctl lines. The requests are
// checked again, so that nothing but what EncodeObserve builds can be merged.
func MergeObserve(reqs [][]byte) ([]byte, error) {
	if len(reqs) == 1 {
		return reqs[0], nil
	}
	if len(reqs) == 0 || len(reqs) > sshconn.MaxBatch {
		return nil, fmt.Errorf("cannot merge %d observe requests (1 to %d)", len(reqs), sshconn.MaxBatch)
	}
	var names, lines []string
	for _, r := range reqs {
		body, ok := strings.CutPrefix(string(r), protocolHeader+"\nobserve ")
		body, ok2 := strings.CutSuffix(body, "\nend\n")
		if !ok || !ok2 {
			return nil, fmt.Errorf("not an observe request: %q", tail(r))
		}
		ls := strings.Split(body, "\n")
		n, err := target.ParseIfName(ls[0])
		if err != nil {
			return nil, err
		}
		if !slices.Contains(names, string(n)) {
			names = append(names, string(n))
		}
		for _, l := range ls[1:] {
			f := strings.Fields(l)
			if len(f) != 3 || f[0] != "sysctl" || l != strings.Join(f, " ") {
				return nil, fmt.Errorf("not an observe request line: %q", l)
			}
			if err := (target.Sysctl{Interface: f[1], Key: f[2]}).Validate(); err != nil {
				return nil, err
			}
			if !slices.Contains(lines, l) {
				lines = append(lines, l)
			}
		}
	}
	var b bytes.Buffer
	b.WriteString(protocolHeader + "\nobserve " + strings.Join(names, " ") + "\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("end\n")
	return b.Bytes(), nil
}

// Apply runs the steps in one SSH session; consecutive ip steps go to one `ip -batch -`.
func (h *Host) Apply(ctx context.Context, ifname target.IfName, steps []target.Step) error {
	if len(steps) == 0 {
		return nil
	}
	req, err := EncodeApply(ifname, steps)
	if err != nil {
		return fmt.Errorf("%w: %w", target.ErrNotApplied, err)
	}
	if h.snaps != nil {
		h.snaps.invalidate(h.key)
		defer h.snaps.invalidate(h.key)
	}
	res, err := h.runner.Run(ctx, h.host, h.program(), req)
	_, err = h.applyOutcome(steps, res, err)
	return err
}

// ObserveAndApply reads the host and applies what decide makes of it in one SSH session: the
// helper answers a converge request as an observe, then reads the apply request built from
// decide's steps (or end of input, when there is nothing to do) and runs it as Apply would, under
// the host's lock, expectations first. The session is the converge's own: never batched with
// reads, never answered from a snapshot, and the host's snapshot is dropped as for Apply. With a
// runner that cannot converse (not an Exchanger) it observes and applies in two sessions.
func (h *Host) ObserveAndApply(ctx context.Context, ifname target.IfName, sysctls []target.Sysctl, decide target.Decide) (target.Applied, error) {
	ex, ok := h.runner.(Exchanger)
	if !ok {
		return target.ObserveThenApply(ctx, h, ifname, sysctls, decide)
	}
	req, err := EncodeConverge(ifname, sysctls)
	if err != nil {
		return target.Applied{}, err
	}
	if h.snaps != nil {
		h.snaps.invalidate(h.key)
		defer h.snaps.invalidate(h.key)
	}
	var applied target.Applied
	var steps []target.Step
	var answerLen int
	var stop error // why nothing was sent after the answer: the answer is unreadable, decide failed, or its steps are invalid
	reply := func(answer []byte) []byte {
		if !bytes.HasPrefix(answer, []byte(protocolHeader+"\n")) {
			return nil // not the helper's answer: checked with the whole output below
		}
		view, err := parseObserve(answer)
		if err == nil {
			applied.Observation, err = view.observation(ifname, sysctls)
		}
		if err != nil {
			stop = fmt.Errorf("on %s: %w", h.host, err)
			return nil
		}
		applied.Decided, answerLen = true, len(answer)
		if steps, stop = decide(applied.Observation); stop != nil || len(steps) == 0 {
			return nil
		}
		req, err := EncodeApply(ifname, steps)
		if err != nil {
			stop = fmt.Errorf("%w: %w", target.ErrNotApplied, err)
			return nil
		}
		// The second request is an apply request without the protocol line.
		return bytes.TrimPrefix(req, []byte(protocolHeader+"\n"))
	}
	res, err := ex.Exchange(ctx, h.host, h.program(), req, "done", reply)
	switch {
	case stop != nil || (applied.Decided && len(steps) == 0):
		// Nothing was sent after the answer, so nothing was changed whatever became of the session.
		return applied, stop
	case !applied.Decided && err != nil:
		return applied, err
	case !applied.Decided:
		if _, err := h.check(res); err != nil {
			return applied, err
		}
		return applied, fmt.Errorf("on %s: the helper's answer is incomplete: %q", h.host, tail(res.Stdout))
	}
	if err == nil {
		// The apply's part of the answer, framed as the answer of an Apply.
		res = &sshconn.Result{ExitStatus: res.ExitStatus, Stderr: res.Stderr,
			Stdout: append([]byte(protocolHeader+"\n"), res.Stdout[answerLen:]...)}
	}
	applied.Index, err = h.applyOutcome(steps, res, err)
	return applied, err
}

// applyOutcome reads the answer to an apply request of steps (res, or the session's error) as
// Apply reports it, and the index of the link the helper reported after the steps (0 if none).
func (h *Host) applyOutcome(steps []target.Step, res *sshconn.Result, err error) (int, error) {
	if sshconn.NotStarted(err) {
		return 0, fmt.Errorf("%w: %w", target.ErrNotApplied, err)
	}
	if err != nil {
		return 0, err
	}
	out, err := h.check(res)
	var fe *failedStep
	if errors.As(err, &fe) {
		return 0, h.stepError(steps, fe)
	}
	if err != nil {
		return 0, err
	}
	if !bytes.HasSuffix(out, []byte("\ndone\n")) {
		return 0, fmt.Errorf("on %s: the helper stopped without finishing (output %q); run terraform plan to see what was done", h.host, tail(out))
	}
	index := 0
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "index "); ok {
			index, _ = strconv.Atoi(v)
		}
	}
	return index, nil
}

// failedStep is the helper's report that step Index failed with Messages.
type failedStep struct {
	Index    int
	Messages []string
}

func (f *failedStep) Error() string { return strings.Join(f.Messages, "; ") }

// check checks the helper's framing and exit status; it returns the helper's stdout.
func (h *Host) check(res *sshconn.Result) ([]byte, error) {
	out := res.Stdout
	if !bytes.HasPrefix(out, []byte(protocolHeader+"\n")) {
		if h.installed != "" {
			return nil, fmt.Errorf("the helper installed at %s did not run on %s (exit status %d): %s; install it there as the provider documentation shows (ssh.helper_path)",
				h.installed, h.host, res.ExitStatus, firstLines(res.Stderr, 3))
		}
		return nil, fmt.Errorf("the helper did not run on %s (exit status %d): %s; the provider needs a POSIX sh there (as `sh` on the user's PATH)",
			h.host, res.ExitStatus, firstLines(res.Stderr, 3))
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	switch res.ExitStatus {
	case 0:
		return out, nil
	case 3:
		return nil, h.helperError(lines)
	case 4:
		fe := &failedStep{Index: -1}
		for _, l := range lines {
			if v, ok := strings.CutPrefix(l, "fail "); ok {
				fe.Index, _ = strconv.Atoi(v)
			} else if v, ok := strings.CutPrefix(l, "msg "); ok {
				fe.Messages = append(fe.Messages, sshconn.Printable(v))
			}
		}
		if fe.Index >= 0 {
			return nil, fe
		}
	}
	return nil, fmt.Errorf("the helper failed on %s (exit status %d): %s %s", h.host, res.ExitStatus, tail(out), firstLines(res.Stderr, 3))
}

// helperError explains an "error CODE TEXT" answer: the request was refused or ip is unusable.
func (h *Host) helperError(lines []string) error {
	var code, text string
	var msgs []string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "error "); ok {
			code, text, _ = strings.Cut(sshconn.Printable(v), " ")
		} else if v, ok := strings.CutPrefix(l, "msg "); ok {
			msgs = append(msgs, sshconn.Printable(v))
		}
	}
	detail := strings.Join(msgs, "; ")
	switch {
	case code == "noip":
		return fmt.Errorf("%s has no `ip` command: install iproute2 there", h.host)
	case code == "ip" && strings.Contains(detail, "BusyBox"):
		return fmt.Errorf("`ip` on %s is BusyBox's, which lacks `ip -j`: install iproute2 there", h.host)
	case code == "ip" && (strings.Contains(detail, `"-j" is unknown`) || strings.Contains(detail, `"-d" is unknown`) || strings.Contains(detail, "unknown")):
		return fmt.Errorf("iproute2 on %s is too old: the provider needs `ip -j` (JSON output, iproute2 4.14 or newer); %s", h.host, detail)
	case code == "ip":
		return fmt.Errorf("on %s, `ip -d -j addr show` failed: %s", h.host, detail)
	case code == "changed":
		return fmt.Errorf("on %s: %w", h.host, target.ChangedError(text))
	case code == "busy":
		return fmt.Errorf("on %s: %s (a long apply of another Terraform run?); nothing was changed, try again: %w", h.host, text, target.ErrNotApplied)
	case code == "noflock" || code == "lock":
		return fmt.Errorf("on %s: %s; the helper locks the host for each apply (util-linux flock, /run/lock); nothing was changed: %w", h.host, text, target.ErrNotApplied)
	case code == "proto" && h.installed != "":
		return fmt.Errorf("the helper installed at %s on %s refused the request (%s); nothing was changed. It is probably from another version of the provider: install the helper of this version (see the provider documentation, ssh.helper_path)",
			h.installed, h.host, text)
	}
	return fmt.Errorf("the helper on %s refused the request (%s: %s); nothing was changed. This is a bug in the provider, please report it", h.host, code, text)
}

var batchFailed = regexp.MustCompile(`^Command failed -:(\d+)$`)

// stepError maps the helper's failure report to the step: for an `ip -batch` group the failing
// line is named by ip ("Command failed -:N").
func (h *Host) stepError(steps []target.Step, fe *failedStep) error {
	idx := fe.Index
	var msgs []string
	for _, m := range fe.Messages {
		if sm := batchFailed.FindStringSubmatch(m); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			idx = fe.Index + n - 1
			continue
		}
		if m != "" {
			msgs = append(msgs, m)
		}
	}
	if idx < 0 || idx >= len(steps) {
		return fmt.Errorf("on %s: a step failed (%s); run terraform plan to see what was done", h.host, strings.Join(msgs, "; "))
	}
	s := steps[idx]
	return &target.StepError{Index: idx, Step: s, Err: explain(h.host, s, strings.Join(msgs, "; "))}
}

// explain adds what ip's terse message means for the step, and names the host.
func explain(host string, s target.Step, msg string) error {
	hint := ""
	switch {
	case strings.Contains(msg, "Operation not permitted") || strings.Contains(msg, "Permission denied"):
		hint = " (needs root: connect as root or set ssh.sudo = true)"
	case s.Op == target.OpCreateDummy && strings.Contains(msg, "File exists"):
		hint = " (an interface of that name appeared since it was read: another resource, state or process created it; it is not taken over. Import it, or choose another name)"
	case s.Op == target.OpCreateDummy && (strings.Contains(msg, "Unknown device type") || strings.Contains(msg, "not supported")):
		hint = " (the kernel there has no dummy driver: modprobe dummy)"
	case s.Op == target.OpAddAddress && (strings.Contains(msg, "File exists") || strings.Contains(strings.ToLower(msg), "already assigned")):
		hint = " (the address is already on the link)"
	case s.Op == target.OpDelAddress && (strings.Contains(msg, "Cannot assign requested address") || strings.Contains(strings.ToLower(msg), "not found")):
		hint = " (the address is not on the link: it changed since it was read)"
	case strings.Contains(msg, "Invalid argument"), strings.Contains(msg, "Error:"):
		hint = " (the kernel there rejected it)"
	}
	return fmt.Errorf("on %s: %s%s", host, msg, hint)
}

// EncodeObserve builds an observe request. Every value is validated here, before it leaves Go.
func EncodeObserve(ifname target.IfName, sysctls []target.Sysctl) ([]byte, error) {
	return encodeRead("observe", ifname, sysctls)
}

// EncodeConverge builds a converge request: an observe of ifname, after whose answer the helper
// reads an apply request (EncodeApply's, without its protocol line) or end of input.
func EncodeConverge(ifname target.IfName, sysctls []target.Sysctl) ([]byte, error) {
	return encodeRead("converge", ifname, sysctls)
}

func encodeRead(kind string, ifname target.IfName, sysctls []target.Sysctl) ([]byte, error) {
	if _, err := target.ParseIfName(string(ifname)); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(protocolHeader + "\n" + kind + " " + string(ifname) + "\n")
	for _, sc := range sysctls {
		if err := sc.Validate(); err != nil {
			return nil, err
		}
		b.WriteString("sysctl " + sc.Interface + " " + sc.Key + "\n")
	}
	b.WriteString("end\n")
	return b.Bytes(), nil
}

// EncodeApply builds an apply request. Every value is validated here, before it leaves Go.
func EncodeApply(ifname target.IfName, steps []target.Step) ([]byte, error) {
	if _, err := target.ParseIfName(string(ifname)); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(protocolHeader + "\napply " + string(ifname) + "\n")
	for i, s := range steps {
		var line string
		var err error
		switch s.Op {
		case target.OpCreateDummy:
			line = "create"
		case target.OpSetUp:
			line = "up"
		case target.OpDeleteLink:
			line = "delete"
		case target.OpSetAlias:
			if err = target.ValidAlias(s.Alias); err == nil && s.Alias == "" {
				err = errors.New("empty alias")
			}
			line = "alias " + s.Alias
		case target.OpSetSysctl:
			if err = s.Sysctl.Validate(); err == nil && (s.Value < 0 || s.Value > 999) {
				err = fmt.Errorf("sysctl value %d out of range", s.Value)
			}
			line = "sysctl " + s.Sysctl.Interface + " " + s.Sysctl.Key + " " + strconv.Itoa(s.Value)
		case target.OpAddAddress, target.OpDelAddress:
			err = target.ValidPrefix(s.Prefix)
			line = "add " + s.Prefix.String()
			if s.Op == target.OpDelAddress {
				line = "del " + s.Prefix.String()
			}
		case target.OpWriteFile, target.OpSymlink, target.OpRemoveFile, target.OpDaemonReload:
			if err = target.ValidateBootStep(s); err == nil {
				line = encodeBootStep(s)
			}
		case target.OpExpectLink, target.OpExpectManaged, target.OpExpectManagedCount, target.OpExpectSysctl:
			line, err = encodeExpectation(s)
		default:
			err = fmt.Errorf("unknown step %v", s.Op)
		}
		if err != nil {
			return nil, &target.StepError{Index: i, Step: s, Err: err}
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("end\n")
	return b.Bytes(), nil
}

// ipLink is the part of `ip -d -j addr show` the provider reads.
type ipLink struct {
	Index    int      `json:"ifindex"`
	Name     string   `json:"ifname"`
	Flags    []string `json:"flags"`
	Alias    string   `json:"ifalias"`
	LinkInfo *struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	Addrs []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

// hostView is one observe answer, parsed once: every link of the host, the links this provider
// manages, and the sysctls that were asked. Each Observe of a refresh takes its part of it.
type hostView struct {
	links   map[string]ipLink
	managed map[target.IfName]string
	sysctls map[target.Sysctl]int // the asked sysctls that exist on the host
	boot    target.BootFiles
}

// parseObserve reads the helper's observe answer.
func parseObserve(out []byte) (*hostView, error) {
	v := &hostView{links: map[string]ipLink{}, managed: map[target.IfName]string{}, sysctls: map[target.Sysctl]int{}}
	s := string(out)
	start := strings.Index(s, "\njson\n")
	end := strings.Index(s, "\nendjson\n")
	if start < 0 || end < start || !strings.HasSuffix(s, "\ndone\n") {
		return nil, fmt.Errorf("the helper's answer is incomplete: %q", tail(out))
	}
	var links []ipLink
	if err := json.Unmarshal([]byte(s[start+len("\njson\n"):end]), &links); err != nil {
		return nil, fmt.Errorf("reading `ip -d -j addr show`: %v", err)
	}
	for _, l := range links {
		v.links[l.Name] = l
		if strings.HasPrefix(l.Alias, target.AliasPrefix) {
			if n, err := target.ParseIfName(l.Name); err == nil {
				v.managed[n] = l.Alias
			}
		}
	}
	rest := s[end+len("\nendjson\n"):]
	var err error
	if v.boot, err = parseBoot(rest); err != nil {
		return nil, err
	}
	for _, line := range strings.Split(rest, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "sysctl" || f[3] == "-" {
			continue
		}
		n, err := strconv.Atoi(f[3])
		if err != nil {
			return nil, fmt.Errorf("net.ipv4.conf.%s.%s is %q, not a number", f[1], f[2], f[3])
		}
		v.sysctls[target.Sysctl{Interface: f[1], Key: f[2]}] = n
	}
	return v, nil
}

// observation is ifname's part of the view, with only the sysctls asked. It shares nothing
// mutable with the view, which other reads use too.
func (v *hostView) observation(ifname target.IfName, sysctls []target.Sysctl) (target.Observation, error) {
	obs := target.Observation{Sysctls: map[target.Sysctl]int{}, Managed: maps.Clone(v.managed),
		Boot: target.BootFiles{Systemd: v.boot.Systemd, NetworkManager: v.boot.NetworkManager,
			Files: maps.Clone(v.boot.Files), Links: maps.Clone(v.boot.Links)}}
	for _, sc := range sysctls {
		if n, ok := v.sysctls[sc]; ok {
			obs.Sysctls[sc] = n
		}
	}
	l, ok := v.links[string(ifname)]
	if !ok {
		return obs, nil
	}
	obs.Link = target.Link{Exists: true, Index: l.Index, Up: slices.Contains(l.Flags, "UP"), Alias: l.Alias,
		Addresses: []netip.Prefix{}}
	if l.LinkInfo != nil {
		obs.Link.Kind = sshconn.Printable(l.LinkInfo.Kind)
	}
	for _, a := range l.Addrs {
		if a.Family != "inet" && a.Family != "inet6" {
			continue
		}
		ip, err := netip.ParseAddr(a.Local)
		if err != nil {
			return obs, fmt.Errorf("`ip -j` reported address %q on %s: %v", a.Local, ifname, err)
		}
		p, err := ip.Unmap().Prefix(a.PrefixLen)
		if err != nil {
			return obs, fmt.Errorf("`ip -j` reported %s/%d on %s: %v", a.Local, a.PrefixLen, ifname, err)
		}
		obs.Link.Addresses = append(obs.Link.Addresses, netip.PrefixFrom(ip.Unmap(), p.Bits()))
	}
	return obs, nil
}

// tail is the end of the helper's output for a message, control characters escaped.
func tail(b []byte) string {
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return sshconn.Printable(string(b))
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	if len(lines) == 0 || lines[0] == "" {
		return "(no message)"
	}
	return sshconn.Printable(strings.Join(lines, " / "))
}
