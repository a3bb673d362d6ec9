package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/steps/load"
	"github.com/ftpsgw/ftpsgw/steps/target"
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
	targetPath := fs.String("target", "", "target profile YAML (as for certify); default: start the simulator as a child process")
	scenario := fs.String("scenario", load.Sessions, "sessions | upload | idle | mixed | list")
	dir := fs.String("dir", "/out", "list: the folder to list")
	minEntries := fs.Int("min-entries", 0, "list: a listing with fewer entries is an error")
	concurrency := fs.Int("concurrency", 8, "parallel sessions")
	duration := fs.Duration("duration", 10*time.Second, "how long the run lasts (bounded: at most 24h)")
	count := fs.Int("count", 0, "stop after this many operations (0: run for --duration)")
	size := fs.String("size", "", "bytes per upload, e.g. 64, 4KiB, 256MiB (default: sessions 64, upload 256MiB, mixed 4KiB)")
	identity := fs.String("identity", "moces", "profile identity to log in as")
	folder := fs.String("folder", "", "upload folder (default: the identity's first folder)")
	serverPID := fs.Int("server-pid", 0, "sample this server process's CPU and RSS from /proc (with --target)")
	pprofOn := fs.Bool("pprof", false, "without --target: start the simulator with --pprof and print its profiler URL")
	durability := fs.String("durability", "", "without --target: the simulator's durability, process or power (default: serve's default)")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	receiptLag := fs.Bool("receipt-lag", false, "sessions/upload: after the run, wait for a status 1 per upload on the target's receipt counter (control API /metrics) and report the lag")
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
		Identity: *identity, Folder: *folder, Progress: stderr, ReceiptLag: *receiptLag, Dir: *dir, MinEntries: *minEntries}
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
	if *targetPath != "" {
		p, err := target.LoadProfile(*targetPath)
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
		sim, profile, err := startChildSimulator(ctx, stderr, *pprofOn, *durability)
		if err != nil {
			return fail(stderr, "starting the simulator: %v", err)
		}
		defer sim.Close()
		opts.Profile, opts.Server = profile, &load.Process{PID: sim.PID}
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
	Entries     int            `json:"entries,omitempty"`
	ServerCPUs  float64        `json:"server_cpu_s,omitempty"`
	ServerMem   int64          `json:"server_mem_peak_bytes,omitempty"` // PSS of the process tree
	ServerEnded bool           `json:"server_ended,omitempty"`          // the server was not running for the whole run: not measured
	// with --receipt-lag: status 1 receipts missing at the run's end, seconds to the last one
	ReceiptsBehind *int     `json:"receipts_behind_at_end,omitempty"`
	ReceiptsLastS  *float64 `json:"receipts_last_s,omitempty"`
	ReceiptsAll    *bool    `json:"receipts_complete,omitempty"`
}

func writeLoadJSON(path string, r *load.Result) error {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	j := loadJSON{Scenario: r.Scenario, Target: r.Target, Concurrency: r.Concurrency, Size: r.Size, ElapsedS: r.Elapsed.Seconds(),
		Ops: r.Ops, OpsPerS: r.Rate(), MBPerS: r.MBps(), P50ms: ms(r.Percentile(50)), P90ms: ms(r.Percentile(90)),
		P99ms: ms(r.Percentile(99)), MaxMs: ms(r.Percentile(100)), Errors: r.Errors, ErrorCount: r.ErrorCount(), HeldPeak: r.HeldPeak, Entries: r.Entries}
	if r.Server != nil && r.Server.Ended {
		j.ServerEnded = true
	} else if r.Server != nil {
		j.ServerCPUs, j.ServerMem = r.Server.CPU.Seconds(), r.Server.RSSPeak
	}
	if l := r.Receipts; l != nil {
		last := l.Last.Seconds()
		j.ReceiptsBehind, j.ReceiptsLastS, j.ReceiptsAll = &l.BehindAtEnd, &last, &l.Complete
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// startChildSimulator starts `ftpsgw serve` (this binary) in a process of its own, so its
// CPU and RSS are its own: as users run it (real clock, journal, database and receipts on),
// with one change: a load generator's thousands of sessions from one address and identity
// are not an attack, so lock-out and session limits are lifted.
func startChildSimulator(ctx context.Context, stderr io.Writer, pprofOn bool, durability string) (*simtest.Simulator, *target.Profile, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	sim, err := simtest.Start(ctx, simtest.Options{Mode: simtest.ChildProcess, Binary: self, RealClock: true,
		SessionReuse: simulator.ReuseOff, PassivePorts: "0", LiftSessionLimits: true, Pprof: pprofOn, Durability: simulator.DurabilityMode(durability),
		Stderr: stderr, LogLevel: "error"})
	if err != nil {
		return nil, nil, err
	}
	if pprofOn {
		fmt.Fprintf(stderr, "profiler: %s/debug/pprof/ (e.g. go tool pprof %s/debug/pprof/profile?seconds=10)\n", sim.ControlURL, sim.ControlURL)
	}
	p, err := sim.Profile()
	if err != nil {
		sim.Close()
		return nil, nil, err
	}
	return sim, p, nil
}
