package benchconf

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Usage is what one command cost, with every process it started.
type Usage struct {
	Wall time.Duration
	// CPU is user + system time of the command and of the children it waited for.
	CPU time.Duration
	// PeakRSS is the largest sum of the resident sets of the command and its descendants seen
	// by sampling /proc every few milliseconds.
	PeakRSS int64
	// HWMSum adds up every process's own peak resident set (VmHWM): an upper bound of PeakRSS
	// that sampling cannot miss (the processes need not have peaked at the same moment).
	HWMSum int64
	// Processes holds, per command name, the CPU time and peak resident set last seen.
	Processes map[string]ProcessUsage
}

// ProcessUsage is one process's share, as last sampled.
type ProcessUsage struct {
	CPU time.Duration
	HWM int64
}

// sampleEvery is the /proc sampling period: short against a plan of a second, cheap against
// two cores shared by several users.
const sampleEvery = 5 * time.Millisecond

// Measure runs cmd to completion, sampling the resident memory of it and its descendants.
func Measure(cmd *exec.Cmd) (Usage, error) {
	ticks := sysClockTicks()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Usage{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	root := cmd.Process.Pid
	type seen struct {
		name string
		cpu  time.Duration
		hwm  int64
	}
	procs := map[int]*seen{root: {}}
	var u Usage
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	var err error
	// Only Wait's return ends the loop: cmd.ProcessState is set before Wait has finished copying
	// the command's output, so testing it here would race with that copy.
	for n, finished := 0, false; !finished; n++ {
		select {
		case err = <-done:
			finished = true
			continue
		case <-tick.C:
		}
		if n%4 == 0 {
			for _, pid := range descendants(procs) {
				procs[pid] = &seen{}
			}
		}
		var rss int64
		for pid, s := range procs {
			st, ok := readStatus(pid)
			if !ok {
				continue
			}
			// A process that has exited but is not reaped yet shows no memory: keep what was seen.
			rss += st.rss
			s.name, s.hwm = st.name, max(s.hwm, st.hwm)
			if cpu, ok := readCPU(pid, ticks); ok {
				s.cpu = cpu
			}
		}
		u.PeakRSS = max(u.PeakRSS, rss)
	}
	u.Wall = time.Since(start)
	if ps := cmd.ProcessState; ps != nil {
		u.CPU = ps.UserTime() + ps.SystemTime() // getrusage's utime + stime, on every system
	}
	u.Processes = map[string]ProcessUsage{}
	for _, s := range procs {
		if s.name == "" {
			continue // exited before its first sample
		}
		u.HWMSum += s.hwm
		p := u.Processes[s.name]
		p.CPU += s.cpu
		p.HWM = max(p.HWM, s.hwm)
		u.Processes[s.name] = p
	}
	u.HWMSum = max(u.HWMSum, u.PeakRSS)
	return u, err
}

func (u Usage) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wall %.2fs cpu %.2fs peak %.0f MB (hwm sum %.0f MB)", u.Wall.Seconds(), u.CPU.Seconds(),
		float64(u.PeakRSS)/1e6, float64(u.HWMSum)/1e6)
	for name, p := range u.Processes {
		fmt.Fprintf(&b, "; %s cpu %.2fs hwm %.0f MB", name, p.CPU.Seconds(), float64(p.HWM)/1e6)
	}
	return b.String()
}

type status struct {
	name     string
	rss, hwm int64
}

func readStatus(pid int) (status, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return status{}, false
	}
	var st status
	for _, line := range bytes.Split(data, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(k) {
		case "Name":
			st.name = string(bytes.TrimSpace(v))
		case "VmRSS":
			st.rss = kB(v)
		case "VmHWM":
			st.hwm = kB(v)
		}
	}
	return st, st.name != ""
}

func kB(v []byte) int64 {
	f := strings.Fields(string(v))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n * 1024
}

// statFields returns the fields of /proc/PID/stat after the command name.
func statFields(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(data[i+1:]))
}

func readCPU(pid int, ticks int64) (time.Duration, bool) {
	f := statFields(pid)
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration((ut + st) * int64(time.Second) / ticks), true
}

// descendants returns the processes whose parent is in known and which are not in it yet.
func descendants[V any](known map[int]V) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ok := known[pid]; ok {
			continue
		}
		f := statFields(pid)
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != 0 {
			if _, ok := known[ppid]; ok {
				out = append(out, pid)
			}
		}
	}
	return out
}

// sysClockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux this runs on.
func sysClockTicks() int64 { return 100 }
