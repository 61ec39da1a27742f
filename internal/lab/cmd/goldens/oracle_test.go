//go:build linux

package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	raw := `Fri Nov 27 06:49:22 2026: Starting Keepalived v2.2.7 (01/16,2022)
Fri Nov 27 06:49:22 2026: Running on Linux 6.1.0-56-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16) (built for Linux 5.19.11)
Fri Nov 27 06:49:22 2026: Command line: 'keepalived' '-C' '-n' '-l' '-G' '-d' '-f' 'a.conf'
Fri Nov 27 06:49:22 2026: Configuration file a.conf
Fri Nov 27 06:49:22 2026: Starting Healthcheck child process, pid=134
Fri Nov  7 06:49:22 2026: (a.conf: Line 3) Invalid real server ip address/port 10.2.2.300/80 - skipping
Fri Nov 27 06:49:22 2026: Gained quorum 1+0=1 <= 3 for VS [10.1.1.1]:tcp:80
Fri Nov 27 06:49:22 2026: ------< Global definitions >------
Fri Nov 27 06:49:22 2026:  Router ID = test
Fri Nov 27 06:49:22 2026: Startup complete
Fri Nov 27 06:49:22 2026: Script user 'keepalived_script' does not exist
Fri Nov 27 06:49:22 2026:  Default script uid:gid 0:0
Fri Nov 27 06:49:22 2026: ------< LVS Topology >------
Fri Nov 27 06:49:22 2026:  System is compiled with LVS v1.2.1
Fri Nov 27 06:49:22 2026:  ------< Virtual server >------
Fri Nov 27 06:49:22 2026:  VS VIP = 10.1.1.1, VPORT = 80
Fri Nov 27 06:49:22 2026:    ------< Real server >------
Fri Nov 27 06:49:22 2026:    RIP = 10.2.2.2, RPORT = 80, WEIGHT = 2 EFF WEIGHT = 2
Fri Nov 27 06:49:22 2026:    forwarding method = DR
Fri Nov 27 06:49:22 2026: ------< Health checkers >------
Fri Nov 27 06:49:22 2026:  [10.1.1.1]:tcp:80 -> [10.2.2.2]:tcp:80
Fri Nov 27 06:49:22 2026: Activating healthchecker for service [10.2.2.2]:tcp:80 for VS [10.1.1.1]:tcp:80
Fri Nov 27 06:49:22 2026:  TCP connection to [10.2.2.2]:tcp:80 failed
Fri Nov 27 06:49:22 2026: Stopping
Fri Nov 27 06:49:22 2026: Healthcheck child process(134) exited
Fri Nov 27 06:49:22 2026: Stopped Keepalived v2.2.7 (01/16,2022)`
	var lines []string
	for _, l := range strings.Split(raw, "\n") {
		lines = append(lines, stripTimestamp(l))
	}
	got := string(render("Keepalived v2.2.7 (01/16,2022)", []string{"-C", "-f", "a.conf"}, lines, "started"))
	want := `# oracle: Keepalived v2.2.7 (01/16,2022)
# command: keepalived -C -f a.conf
Configuration file a.conf
(a.conf: Line 3) Invalid real server ip address/port 10.2.2.300/80 - skipping
Gained quorum 1+0=1 <= 3 for VS [10.1.1.1]:tcp:80
------< LVS Topology >------
 System is compiled with LVS v1.2.1
 ------< Virtual server >------
 VS VIP = 10.1.1.1, VPORT = 80
   ------< Real server >------
   RIP = 10.2.2.2, RPORT = 80, WEIGHT = 2 EFF WEIGHT = 2
   forwarding method = DR
------< Health checkers >------
 [10.1.1.1]:tcp:80 -> [10.2.2.2]:tcp:80
# result: started
`
	if got != want {
		t.Errorf("render:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderPIDs(t *testing.T) {
	got := string(render("v", nil, []string{"Healthcheck child process(134) exited with status 1", "Stopping"}, "exited: status 1"))
	if !strings.Contains(got, "process(N) exited with status 1\n") || strings.Contains(got, "Stopping") {
		t.Errorf("render:\n%s", got)
	}
}

func TestOracleArgs(t *testing.T) {
	for conf, want := range map[string][]string{
		"# oracle-args: -i lab2 --all\nvirtual_server 1.2.3.4 80 {}\n": {"-i", "lab2", "--all"},
		"  #   oracle-args: -i x\n":                                    nil,
		"global_defs {}\n# oracle-args: -i x\n":                        nil,
		"# oracle-args:\n":                                             {},
	} {
		if got := oracleArgs([]byte(conf)); !reflect.DeepEqual(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("oracleArgs(%q) = %q, want %q", conf, got, want)
		}
	}
}
