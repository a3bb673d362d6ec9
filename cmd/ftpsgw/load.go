package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/steps"
	"github.com/ftpsgw/ftpsgw/steps/load"
)

// parseSize reads 64, 4KiB, 256MiB, 1GiB, 10MB.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			n, err := strconv.ParseInt(strings.TrimSuffix(s, u.suffix), 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("size %q: a number with KiB, MiB, GiB, KB, MB, GB or B", s)
			}
			return n * u.mult, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: a number with KiB, MiB, GiB, KB, MB, GB or B", s)
	}
	return n, nil
}

func runLoad(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpsgw load", flag.ContinueOnError)
	target := fs.String("target", "", "target profile YAML (as for certify); default: start the simulator as a child process")
	scenario := fs.String("scenario", load.Sessions, "sessions | upload | idle | mixed")
	concurrency := fs.Int("concurrency", 8, "parallel sessions")
	duration := fs.Duration("duration", 10*time.Second, "how long the run lasts (bounded: at most 24h)")
	count := fs.Int("count", 0, "stop after this many operations (0: run for --duration)")
	size := fs.String("size", "", "bytes per upload, e.g. 64, 4KiB, 256MiB (default: sessions 64, upload 256MiB, mixed 4KiB)")
	identity := fs.String("identity", "moces", "profile identity to log in as")
	folder := fs.String("folder", "", "upload folder (default: the identity's first folder)")
	serverPID := fs.Int("server-pid", 0, "sample this server process's CPU and RSS from /proc (with --target)")
	pprofOn := fs.Bool("pprof", false, "without --target: start the simulator with --pprof and print its profiler URL")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw load [flags]\n\nDrives load against a gateway and reports throughput, latency percentiles, errors by kind\nand the server's CPU and RSS. Loopback targets only unless FTPSGW_LOAD_ALLOW_REMOTE=1.\nWithout --target it starts `ftpsgw serve` (real clock, journal, database and receipts on,\nas users run it) and measures that process.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	opts := load.Options{Scenario: *scenario, Concurrency: *concurrency, Duration: *duration, Count: *count,
		Identity: *identity, Folder: *folder, Progress: stderr}
	if *size != "" {
		n, err := parseSize(*size)
		if err != nil {
			fmt.Fprintln(stderr, "ftpsgw load:", err)
			return exitUsage
		}
		opts.Size = n
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *target != "" {
		p, err := steps.LoadProfile(*target)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		opts.Profile = p
		if *serverPID > 0 {
			opts.Server = &load.Process{PID: *serverPID}
		}
	} else {
		if *serverPID > 0 {
			fmt.Fprintln(stderr, "ftpsgw load: --server-pid goes with --target (without it the simulator child is measured)")
			return exitUsage
		}
		child, err := startChildSimulator(ctx, stderr, *pprofOn)
		if err != nil {
			return fail(stderr, "starting the simulator: %v", err)
		}
		defer child.close()
		opts.Profile, opts.Server = child.profile, &load.Process{PID: child.cmd.Process.Pid}
	}
	res, err := load.Run(ctx, opts)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	res.Table(stdout)
	if *jsonOut != "" {
		if err := writeLoadJSON(*jsonOut, res); err != nil {
			return fail(stderr, "%v", err)
		}
	}
	if res.ErrorCount() > 0 {
		return exitFailure
	}
	return exitOK
}

// loadJSON is the machine-readable result (scripts/bench.sh reads it).
type loadJSON struct {
	Scenario    string         `json:"scenario"`
	Target      string         `json:"target"`
	Concurrency int            `json:"concurrency"`
	Size        int64          `json:"size"`
	ElapsedS    float64        `json:"elapsed_s"`
	Ops         int            `json:"ops"`
	OpsPerS     float64        `json:"ops_per_s"`
	MBPerS      float64        `json:"mb_per_s"`
	P50ms       float64        `json:"p50_ms"`
	P90ms       float64        `json:"p90_ms"`
	P99ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	Errors      map[string]int `json:"errors"`
	ErrorCount  int            `json:"error_count"`
	HeldPeak    int            `json:"held_peak"`
	ServerCPUs  float64        `json:"server_cpu_s,omitempty"`
	ServerMem   int64          `json:"server_mem_peak_bytes,omitempty"` // PSS of the process tree
}

func writeLoadJSON(path string, r *load.Result) error {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	j := loadJSON{Scenario: r.Scenario, Target: r.Target, Concurrency: r.Concurrency, Size: r.Size, ElapsedS: r.Elapsed.Seconds(),
		Ops: r.Ops, OpsPerS: r.Rate(), MBPerS: r.MBps(), P50ms: ms(r.Percentile(50)), P90ms: ms(r.Percentile(90)),
		P99ms: ms(r.Percentile(99)), MaxMs: ms(r.Percentile(100)), Errors: r.Errors, ErrorCount: r.ErrorCount(), HeldPeak: r.HeldPeak}
	if r.Server != nil {
		j.ServerCPUs, j.ServerMem = r.Server.CPU.Seconds(), r.Server.RSSPeak
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// childSimulator is `ftpsgw serve` in a process of its own, so its CPU and RSS are its own.
type childSimulator struct {
	cmd     *exec.Cmd
	dir     string
	profile *steps.Profile
}

func startChildSimulator(ctx context.Context, stderr io.Writer, pprofOn bool) (*childSimulator, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ftpsgw-load-")
	if err != nil {
		return nil, err
	}
	c := &childSimulator{dir: dir}
	data := filepath.Join(dir, "data")
	cfgFile := filepath.Join(dir, "sim.yaml")
	// As users run it, with one change: a load generator's thousands of sessions from one
	// address and identity are not an attack, so lock-out and session limits are lifted.
	if err := os.WriteFile(cfgFile, []byte("login: {max_failures: 1000000, window: 15m, lockout: 1s}\n"+
		"limits: {max_sessions: 0, max_sessions_per_address: 0, max_sessions_per_identity: 0}\n"), 0o600); err != nil {
		c.close()
		return nil, err
	}
	args := []string{"serve", "--config", cfgFile, "--data", data, "--listen", "127.0.0.1:0", "--passive-ports", "0",
		"--control", "127.0.0.1:0", "--log-level", "error"}
	if pprofOn {
		args = append(args, "--pprof")
	}
	c.cmd = exec.Command(self, args...)
	c.cmd.Stdout, c.cmd.Stderr = io.Discard, stderr
	if err := c.cmd.Start(); err != nil {
		c.close()
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	var ready simulator.Ready
	for {
		b, err := os.ReadFile(filepath.Join(data, simulator.ReadyFile))
		if err == nil && json.Unmarshal(b, &ready) == nil && ready.PID == c.cmd.Process.Pid {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.close()
			return nil, fmt.Errorf("the simulator child did not become ready in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	m, err := certs.LoadManifest(ready.PKI)
	if err != nil {
		c.close()
		return nil, err
	}
	if pprofOn {
		fmt.Fprintf(stderr, "profiler: %s/debug/pprof/ (e.g. go tool pprof %s/debug/pprof/profile?seconds=10)\n", ready.ControlAPI, ready.ControlAPI)
	}
	if c.profile, err = steps.ProfileFromManifest(m, "ftpsgw serve (child process)", ready.Control, ready.ControlAPI, "1-65535"); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *childSimulator) close() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(c.dir)
}
