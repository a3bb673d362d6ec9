package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
)

// textFlag binds a flag to a setting of a string type (the settings' values are checked by
// Config.Validate).
type textFlag[T ~string] struct{ p *T }

func (f textFlag[T]) String() string {
	if f.p == nil {
		return ""
	}
	return string(*f.p)
}

func (f textFlag[T]) Set(v string) error { *f.p = T(v); return nil }

// serveFlags binds every serve flag to a field of cfg: the flag's default is what cfg holds.
func serveFlags(cfg *simulator.Config, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("ftpsgw serve", flag.ContinueOnError)
	configFile := fs.String("config", "", "YAML file with any setting (see simulator/config.example.yaml); flags override it")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "explicit FTPS control address (AUTH TLS); port 0 picks a free port")
	fs.StringVar(&cfg.ImplicitListen, "implicit-listen", cfg.ImplicitListen, "also serve implicit FTPS on this address (ASSUMED option)")
	fs.StringVar(&cfg.PassivePorts, "passive-ports", cfg.PassivePorts, "passive data port range LO-HI, or 0 for any free port")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data folder: database, uploads, /out folders, ready.json")
	fs.StringVar(&cfg.PKI, "pki", cfg.PKI, "PKI folder made by 'ftpsgw pki init' (default: DATA/pki, created on first start)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.Var(textFlag[simulator.ClockMode]{&cfg.Clock}, "clock", "real, or virtual (time moves only through the control API)")
	fs.StringVar(&cfg.Control.Listen, "control", cfg.Control.Listen, "control API address (HTTP+JSON, /control/v1, /metrics); port 0 = free port; off = none")
	fs.StringVar(&cfg.Control.Token, "control-token", cfg.Control.Token, "require this bearer token on the control API")
	fs.BoolVar(&cfg.Control.AllowRemote, "allow-remote-control", cfg.Control.AllowRemote, "let non-loopback clients use the control API (containers); set a --control-token too")
	fs.StringVar(&cfg.PublicHost, "public-host", cfg.PublicHost, "IPv4 address announced in PASV replies (default: the control connection's local address)")
	fs.StringVar(&cfg.Backend.URL, "backend-url", cfg.Backend.URL, "reach the backend at this URL (an 'ftpsgw backend'); default: embedded")
	fs.BoolVar(&cfg.Control.Pprof, "pprof", cfg.Control.Pprof, "serve Go's profiler at /debug/pprof/ on the control API listener")
	fs.Var(textFlag[simulator.ReuseMode]{&cfg.SessionReuse}, "session-reuse", "required: refuse data connections that do not resume the control connection's TLS session; off: only record it (ASSUMED; see config.example.yaml)")
	fs.Func("remote-timeout", "bound each request to --backend-url and --security-url (default: backend 30s, security 10s)", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration", v)
		}
		cfg.Backend.Timeout, cfg.Security.Timeout = simulator.Duration(d), simulator.Duration(d)
		return nil
	})
	fs.StringVar(&cfg.Timing, "timing", cfg.Timing, "fast (receipts within seconds) or realistic (the published delays: status 1 after 15s, 2 after 4h, replies after 36h; best with --clock virtual)")
	fs.Var(textFlag[simulator.DurabilityMode]{&cfg.Durability}, "durability", "process: uploads and receipts survive the simulator's process dying (no fsync); power: they survive a power cut too (fsync before 226, slower)")
	fs.Var(textFlag[simulator.CloseNotifyMode]{&cfg.CloseNotify}, "close-notify", "required: refuse an upload whose TLS data connection ends without close_notify (it may be truncated); optional: accept it (ASSUMED; see config.example.yaml)")
	fs.Func("drain", "on SIGTERM or Ctrl-C, wait this long for uploads in flight before closing them (default 30s; a second signal stops at once)", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration (0 or more)", v)
		}
		cfg.DrainTimeout = simulator.Duration(d)
		return nil
	})
	fs.StringVar(&cfg.Security.URL, "security-url", cfg.Security.URL, "reach the security system at this URL (an 'ftpsgw security'); default: embedded")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw serve [flags]\n\nRuns the reference gateway simulator. TEST use only: never point clients with real\ncertificates at it, and never point it at the real gateway. Every flag can also be set as\nFTPSGW_<FLAG> in the environment (FTPSGW_CONTROL_TOKEN, FTPSGW_BACKEND_URL, ...).\n\nFlags:")
		fs.PrintDefaults()
	}
	return fs, configFile
}

// serveConfig reads the settings: defaults, then the --config file, then the environment
// (FTPSGW_<FLAG>), then the command line. stop reports a usage error or help (with its code).
func serveConfig(args []string, stderr io.Writer) (cfg simulator.Config, code int, stop bool) {
	cfg = simulator.DefaultConfig()
	fs, configFile := serveFlags(&cfg, stderr)
	if code, stop := parseFlags(fs, args, stderr); stop {
		return cfg, code, true
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return cfg, exitUsage, true
	}
	if !applyEnv(fs, stderr) {
		return cfg, exitUsage, true
	}
	if *configFile == "" {
		return cfg, 0, false
	}
	cfg = simulator.DefaultConfig()
	if err := simulator.LoadConfigFile(*configFile, &cfg); err != nil {
		return cfg, fail(stderr, "%v", err), true
	}
	// The environment and the command line override the file: bind them again, to it.
	fs, _ = serveFlags(&cfg, io.Discard)
	fs.SetOutput(io.Discard)
	_ = fs.Parse(args) // parsed once already
	applyEnv(fs, stderr)
	return cfg, 0, false
}

func runServe(args []string, stdout, stderr io.Writer) int {
	cfg, code, done := serveConfig(args, stderr)
	if done {
		return code
	}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, "invalid settings:\n%v", err)
	}
	generatedToken := false
	if cfg.Control.AllowRemote && cfg.Control.Token == "" && cfg.Control.Listen != "off" {
		// An API that moves clocks and registers certificates is never open to the network.
		tok, err := certs.RandomSecret(24)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		cfg.Control.Token, generatedToken = tok, true
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := simulator.Start(ctx, cfg, simulator.Options{Logger: logger, Version: version})
	if err != nil {
		return fail(stderr, "%v", err)
	}
	defer srv.Close()
	printWelcome(stdout, srv)
	if generatedToken {
		fmt.Fprintf(stdout, "  control API token (generated, as the API accepts remote clients; choose one with --control-token): %s\n", cfg.Control.Token)
	}
	<-ctx.Done()
	stop()
	// A graceful stop: no new sessions or uploads, those in flight may finish; a second signal
	// (or the drain time) ends the wait.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	drainCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-again:
			logger.Warn("second signal: stopping at once")
			cancel()
		case <-drainCtx.Done():
		}
	}()
	cut := srv.Drain(drainCtx, cfg.DrainTimeout.Std())
	if err := srv.Close(); err != nil {
		return fail(stderr, "%v", err)
	}
	if cut > 0 {
		fmt.Fprintf(stderr, "ftpsgw serve: stopped with %d upload(s) cut short: nothing of them was kept and their names are still free\n", cut)
	}
	return exitOK
}

// printWelcome tells a new user where everything is and gives a curl line that uploads a file.
func printWelcome(w io.Writer, srv *simulator.Server) {
	r := srv.Ready()
	m := srv.Manifest()
	fmt.Fprintf(w, "ftpsgw gateway simulator (TEST) listening on %s (explicit FTPS)", r.Control)
	if r.Implicit != "" {
		fmt.Fprintf(w, " and %s (implicit FTPS)", r.Implicit)
	}
	fmt.Fprintf(w, "\n  passive ports %s, data in %s\n", r.PassivePorts, srv.DataDir())
	if r.ControlAPI != "" {
		fmt.Fprintf(w, "  control API %s/control/v1 (metrics at %s/metrics), clock %s\n", r.ControlAPI, r.ControlAPI, srv.Gateway().ClockMode())
		fmt.Fprintf(w, "  dashboard %s/ui/ (open it in a browser: sessions, uploads and receipts live)\n", r.ControlAPI)
	}
	if r.DevPKI {
		fmt.Fprintf(w, "  created a development PKI in %s\n", m.Dir())
	}
	fmt.Fprintf(w, "  CA bundle: %s\n  identities and passwords: %s\n", r.CABundle, m.Path(certs.ManifestFile))
	id, ok := m.Lookup("moces")
	if !ok || !id.CanLogin {
		for _, cand := range m.Identities {
			if cand.CanLogin && len(cand.Roles) > 0 {
				id, ok = cand, true
				break
			}
		}
	}
	if ok && len(id.Roles) > 0 {
		fmt.Fprintf(w, "\nTry it (uploads a heartbeat file as %s):\n", id.Name)
		fmt.Fprintf(w, "  echo ping > /tmp/ping_$$.txt && curl --ssl-reqd --tlsv1.2 --tls-max 1.2 --cacert %s \\\n", r.CABundle)
		fmt.Fprintf(w, "    --cert %s --key %s \\\n", m.Path(id.Cert), m.Path(id.Key))
		fmt.Fprintf(w, "    --user '%s:%s' \\\n", id.Username, id.Password)
		fmt.Fprintf(w, "    -T /tmp/ping_$$.txt ftp://%s/%s/\n", r.Control, id.Roles[0])
	}
	fmt.Fprintf(w, "\nReady file: %s. Stop with Ctrl-C.\n", filepath.Join(srv.DataDir(), simulator.ReadyFile))
}
