// Package simtest starts the reference gateway simulator for a test or a tool, in the spirit
// of net/http/httptest and fake-gcs-server's fakestorage: a fresh test PKI, free loopback
// ports, a virtual clock, and settings fit for certification (the strict rules, lock-outs out
// of the way), either in this process or as a child `ftpsgw serve`. What it returns is what a
// client of the simulator needs: the FTPS address, the control API URL and its typed client,
// and the identities (certs.Manifest). Conformance steps should talk to it over the network
// only; the in-process mode is for tools (certify) and tests that do not need a process of
// their own.
//
//	sim := simtest.New(t, simtest.Options{})            // in-process, virtual clock
//	sim := simtest.New(t, simtest.Options{Mode: simtest.ChildProcess})
//	profile, _ := sim.Profile()                         // the target profile to certify it by
package simtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// Mode says where the simulator runs.
type Mode int

const (
	// InProcess runs simulator.Start in this process.
	InProcess Mode = iota
	// ChildProcess runs `ftpsgw serve` as a child (its CPU, memory and crashes are its own).
	ChildProcess
)

// Options configure the simulator. The zero value is what certification wants: in-process,
// virtual clock, session resumption required, no defects, the documented passive range,
// login lock-outs lifted (suites fail logins on purpose).
type Options struct {
	Mode Mode
	// Binary is the ftpsgw executable for ChildProcess; empty builds
	// github.com/ftpsgw/ftpsgw/cmd/ftpsgw with `go build` once per process.
	Binary string
	// RealClock runs on the wall clock instead of a virtual one.
	RealClock bool
	// SessionReuse is the serve setting session_reuse; empty: "required" (the strict rule).
	SessionReuse simulator.ReuseMode
	// Defects break rules on purpose (simulator.Defects()).
	Defects []string
	// Observe records instead of enforcing what client certification judges (simulator.Observe).
	Observe bool
	// Durability is the serve setting durability; empty: the default (process).
	Durability simulator.DurabilityMode
	// PassivePorts "LO-HI"; empty: the simulator's default (36000-39999); "0": any free port.
	PassivePorts string
	// LiftSessionLimits removes the session limits (load generation from one address).
	LiftSessionLimits bool
	// PublicHost is the address PASV announces (default: the control connection's own).
	PublicHost string
	// Pprof serves Go's profiler on the control listener.
	Pprof bool
	// Logger receives the in-process simulator's log (default: discarded).
	Logger *slog.Logger
	// Stderr receives the child's log (default: discarded); LogLevel is its --log-level
	// (default "warn").
	Stderr   io.Writer
	LogLevel string
	// Version is reported by the control API.
	Version string
	// ReadyTimeout bounds the wait for the simulator to accept connections (default 30 s).
	ReadyTimeout time.Duration
	// Key is the key algorithm of the fresh test PKI (default certs.KeyECDSA: fast to issue).
	Key certs.KeyAlgorithm
	// Finish is called by POST /control/v1/finish (in-process only): the end of a client
	// observation.
	Finish func()
}

// Simulator is a running simulator.
type Simulator struct {
	FTPS         string // explicit FTPS address host:port
	ControlURL   string // control API base URL
	PassivePorts string // the range clients should see offered, "LO-HI"
	PKI          string // folder of the test PKI (manifest.json, CA bundle, identities)
	Manifest     *certs.Manifest
	Control      *control.Client
	PID          int    // the process serving (this one in-process)
	Dir          string // everything the simulator wrote; removed by Close

	srv  *simulator.Server
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// New starts a simulator for a test and stops it when the test ends; a failure to start
// fails the test.
func New(t testing.TB, opts Options) *Simulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Start starts a simulator; Close stops it and removes its folder.
func Start(ctx context.Context, opts Options) (*Simulator, error) {
	if opts.SessionReuse == "" {
		opts.SessionReuse = simulator.ReuseRequired
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	dir, err := os.MkdirTemp("", "ftpsgw-sim-")
	if err != nil {
		return nil, err
	}
	s := &Simulator{Dir: dir}
	m, err := freshPKI(filepath.Join(dir, "pki"), opts.Key)
	if err == nil {
		s.Manifest, s.PKI = m, m.Dir()
		if opts.Mode == ChildProcess {
			err = s.startChild(ctx, opts)
		} else {
			err = s.startInProcess(ctx, opts)
		}
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Control = control.NewClient(s.ControlURL, "")
	if s.PassivePorts == "0" {
		s.PassivePorts = "1-65535"
	}
	return s, nil
}

// freshPKI issues a PKI for this simulator: new certificates and CA names, keys from the
// user's key cache (certs.DefaultKeyCache: made once per key type, FTPSGW_KEY_CACHE=off to
// make them anew), so a start costs signatures, not seconds of key generation.
func freshPKI(dir string, alg certs.KeyAlgorithm) (*certs.Manifest, error) {
	p, err := certs.NewPKI(certs.Options{Algorithm: alg, Keys: certs.DefaultKeyCache()})
	if err != nil {
		return nil, err
	}
	return certs.WriteDir(dir, p, false)
}

// config is the simulator's configuration for these options.
func (o Options) config(dir, pki string) simulator.Config {
	cfg := simulator.DefaultConfig()
	cfg.Listen, cfg.Control.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Data, cfg.PKI = filepath.Join(dir, "data"), pki
	cfg.Clock = simulator.ClockVirtual
	if o.RealClock {
		cfg.Clock = simulator.ClockReal
	}
	cfg.SessionReuse, cfg.Observe, cfg.Defects = o.SessionReuse, o.Observe, o.Defects
	if cfg.Defects == nil {
		cfg.Defects = []string{}
	}
	if o.PassivePorts != "" {
		cfg.PassivePorts = o.PassivePorts
	}
	cfg.Login.MaxFailures = 1_000_000
	if o.LiftSessionLimits {
		cfg.Limits.MaxSessions, cfg.Limits.MaxSessionsPerAddress, cfg.Limits.MaxSessionsPerIdentity = 0, 0, 0
	}
	cfg.Control.Pprof = o.Pprof
	cfg.PublicHost = o.PublicHost
	if o.Durability != "" {
		cfg.Durability = o.Durability
	}
	return cfg
}

func (s *Simulator) startInProcess(ctx context.Context, opts Options) error {
	cfg := opts.config(s.Dir, s.PKI)
	srv, err := simulator.Start(ctx, cfg, simulator.Options{Logger: opts.Logger, Version: opts.Version, Finish: opts.Finish})
	if err != nil {
		return err
	}
	r := srv.Ready()
	s.srv, s.FTPS, s.ControlURL, s.PassivePorts, s.PID = srv, r.Control, r.ControlAPI, r.PassivePorts, os.Getpid()
	return nil
}

// The child's YAML holds only what differs from `serve`'s defaults; flags give the rest.
func (s *Simulator) startChild(ctx context.Context, opts Options) error {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = Binary(); err != nil {
			return err
		}
	}
	cfg := opts.config(s.Dir, s.PKI)
	var y strings.Builder
	fmt.Fprintf(&y, "clock: %s\nsession_reuse: %s\nobserve: %v\n", cfg.Clock, cfg.SessionReuse, cfg.Observe)
	fmt.Fprintf(&y, "login: {max_failures: %d, window: 15m, lockout: 15m}\n", cfg.Login.MaxFailures)
	if len(cfg.Defects) > 0 {
		fmt.Fprintf(&y, "defects: [%s]\n", strings.Join(cfg.Defects, ", "))
	}
	if cfg.PublicHost != "" {
		fmt.Fprintf(&y, "public_host: %s\n", cfg.PublicHost)
	}
	if opts.LiftSessionLimits {
		y.WriteString("limits: {max_sessions: 0, max_sessions_per_address: 0, max_sessions_per_identity: 0}\n")
	}
	fmt.Fprintf(&y, "durability: %s\n", cfg.Durability)
	cfgFile := filepath.Join(s.Dir, "serve.yaml")
	if err := os.WriteFile(cfgFile, []byte(y.String()), 0o600); err != nil {
		return err
	}
	level := opts.LogLevel
	if level == "" {
		level = "warn"
	}
	args := []string{"serve", "--config", cfgFile, "--data", cfg.Data, "--pki", s.PKI, "--listen", cfg.Listen,
		"--passive-ports", cfg.PassivePorts, "--control", cfg.Control.Listen, "--log-level", level}
	if opts.Pprof {
		args = append(args, "--pprof")
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, opts.Stderr
	if s.cmd.Stderr == nil {
		s.cmd.Stderr = io.Discard
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	r, err := waitReady(ctx, cfg.Data, s.cmd.Process.Pid, s.done, opts.ReadyTimeout)
	if err != nil {
		return err
	}
	s.FTPS, s.ControlURL, s.PassivePorts, s.PID = r.Control, r.ControlAPI, r.PassivePorts, r.PID
	return nil
}

// waitReady waits for the child's ready file, its early exit, or the deadline.
func waitReady(ctx context.Context, data string, pid int, exited <-chan struct{}, timeout time.Duration) (simulator.Ready, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var r simulator.Ready
		if b, err := os.ReadFile(filepath.Join(data, simulator.ReadyFile)); err == nil && json.Unmarshal(b, &r) == nil && r.PID == pid && r.ControlAPI != "" {
			return r, nil
		}
		select {
		case <-exited:
			return r, errors.New("ftpsgw serve exited before it was ready (its log went to Options.Stderr)")
		case <-deadline.C:
			return r, fmt.Errorf("ftpsgw serve did not become ready within %s", timeout)
		case <-ctx.Done():
			return r, ctx.Err()
		case <-tick.C:
		}
	}
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Binary is the ftpsgw executable of this source tree, built with `go build` once per
// process into a temporary folder (tests that run ftpsgw as a child share it).
func Binary() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ftpsgw-bin-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "ftpsgw")
		out, err := exec.Command("go", "build", "-o", built, "github.com/ftpsgw/ftpsgw/cmd/ftpsgw").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build github.com/ftpsgw/ftpsgw/cmd/ftpsgw: %v\n%s", err, out)
		}
	})
	return built, buildErr
}

// Profile is the target profile that certifies this simulator: its address, CA, passive
// range, control API and every identity of its PKI.
func (s *Simulator) Profile() (*target.Profile, error) {
	return target.ProfileFromManifest(s.Manifest, "ftpsgw simulator", s.FTPS, s.ControlURL, s.PassivePorts)
}

// Close stops the simulator (a child gets SIGTERM, then SIGKILL after 10 s) and removes its
// folder. It is safe to call more than once.
func (s *Simulator) Close() error {
	s.once.Do(func() {
		if s.srv != nil {
			s.srv.Close()
		}
		if s.cmd != nil && s.cmd.Process != nil && s.done != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		os.RemoveAll(s.Dir)
	})
	return nil
}
