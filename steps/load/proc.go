package load

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Process is a server process whose CPU and memory a run samples from /proc (Linux). Both
// cover the process and its descendants (vsftpd forks processes per session): CPU of the
// live tree plus what it reaped, memory (PSS) summed over the live tree every 250 ms.
type Process struct{ PID int }

// Usage is what a run measured of the server.
type Usage struct {
	PID     int
	CPU     time.Duration // user + system, with reaped children, during the run
	RSSPeak int64         // bytes: peak of the summed proportional set size (PSS; RSS where PSS is unavailable)
	Ended   bool          // the process was gone before the run ended: CPU and memory are not known
}

// clockTicks is USER_HZ; 100 on every Linux that Go supports.
const clockTicks = 100

// cpu reads utime+stime+cutime+cstime of pid.
func cpu(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime (fields 14-17)
		v, _ := strconv.ParseInt(f[k], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// tree returns pid and its live descendants.
func tree(pid int) []int {
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		p, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		children[ppid] = append(children[ppid], p)
	}
	out := []int{}
	var walk func(int)
	walk = func(p int) {
		out = append(out, p)
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return out
}

// treeCPU is the CPU of pid and every descendant, live or reaped: a child's time moves into
// its parent's cutime/cstime when reaped, so the sum over the live tree counts each once.
// alive is false when pid itself is gone (a descendant that ended was reaped into it).
func treeCPU(pid int) (total time.Duration, alive bool) {
	for _, p := range tree(pid) {
		c, err := cpu(p)
		if err == nil {
			total += c
		}
		if p == pid {
			alive = err == nil
		}
	}
	return total, alive
}

// memory sums the proportional set size (PSS) of pid and its live descendants: pages shared
// between forked processes (vsftpd's per-session processes) count once in all, not once per
// process as a sum of RSS would. Falls back to VmRSS where smaps_rollup is missing.
func memory(pid int) int64 {
	var total int64
	for _, p := range tree(pid) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p)); err == nil {
			if v, ok := field(b, "Pss:"); ok {
				total += v
				continue
			}
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p)); err == nil {
			if v, ok := field(b, "VmRSS:"); ok {
				total += v
			}
		}
	}
	return total
}

// field reads a "Name:   123 kB" line in bytes.
func field(b []byte, name string) (int64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				return kb << 10, err == nil
			}
		}
	}
	return 0, false
}

type sampler struct {
	p     Process
	cpu0  time.Duration
	gone  bool // the process was not there when the run started
	mu    sync.Mutex
	peak  int64
	done  chan struct{}
	ended chan struct{}
}

func (p *Process) sample() *sampler {
	s := &sampler{p: *p, done: make(chan struct{}), ended: make(chan struct{})}
	var alive bool
	s.cpu0, alive = treeCPU(p.PID)
	s.gone = !alive
	go func() {
		defer close(s.ended)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			r := memory(p.PID)
			s.mu.Lock()
			s.peak = max(s.peak, r)
			s.mu.Unlock()
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() Usage {
	close(s.done)
	<-s.ended
	cpu1, alive := treeCPU(s.p.PID)
	if s.gone || !alive { // the CPU of a process that is gone is not known (it is not in its parent's cutime until reaped)
		return Usage{PID: s.p.PID, Ended: true}
	}
	return Usage{PID: s.p.PID, CPU: cpu1 - s.cpu0, RSSPeak: s.peak}
}
