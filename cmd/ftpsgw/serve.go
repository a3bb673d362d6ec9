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

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	cfg := simulator.DefaultConfig()
	fs := flag.NewFlagSet("ftpsgw serve", flag.ContinueOnError)
	configFile := fs.String("config", "", "YAML file with any setting (see simulator/config.example.yaml); flags override it")
	listen := fs.String("listen", cfg.Listen, "explicit FTPS control address (AUTH TLS); port 0 picks a free port")
	implicit := fs.String("implicit-listen", "", "also serve implicit FTPS on this address (ASSUMED option)")
	passive := fs.String("passive-ports", cfg.PassivePorts, "passive data port range LO-HI, or 0 for any free port")
	data := fs.String("data", cfg.Data, "data folder: database, uploads, /out folders, ready.json")
	pki := fs.String("pki", "", "PKI folder made by 'ftpsgw pki init' (default: DATA/pki, created on first start)")
	logLevel := fs.String("log-level", cfg.LogLevel, "debug, info, warn or error")
	clock := fs.String("clock", cfg.Clock, "real, or virtual (time moves only through the control API)")
	controlAddr := fs.String("control", cfg.Control.Listen, "control API address (HTTP+JSON, /control/v1, /metrics); port 0 = free port; off = none")
	controlToken := fs.String("control-token", "", "require this bearer token on the control API")
	allowRemote := fs.Bool("allow-remote-control", cfg.Control.AllowRemote, "let non-loopback clients use the control API (containers); set a --control-token too")
	publicHost := fs.String("public-host", cfg.PublicHost, "IPv4 address announced in PASV replies (default: the control connection's local address)")
	backendURL := fs.String("backend-url", cfg.Backend.URL, "reach the backend at this URL (an 'ftpsgw backend'); default: embedded")
	pprofOn := fs.Bool("pprof", false, "serve Go's profiler at /debug/pprof/ on the control API listener")
	sessionReuse := fs.String("session-reuse", cfg.SessionReuse, "required: refuse data connections that do not resume the control connection's TLS session; off: only record it (ASSUMED; see config.example.yaml)")
	remoteTimeout := fs.Duration("remote-timeout", 0, "bound each request to --backend-url and --security-url (default: backend 30s, security 10s)")
	securityURL := fs.String("security-url", cfg.Security.URL, "reach the security system at this URL (an 'ftpsgw security'); default: embedded")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw serve [flags]\n\nRuns the reference gateway simulator. TEST use only: never point clients with real\ncertificates at it, and never point it at the real gateway. Every flag can also be set as\nFTPSGW_<FLAG> in the environment (FTPSGW_CONTROL_TOKEN, FTPSGW_BACKEND_URL, ...).\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	if !applyEnv(fs, stderr) {
		return exitUsage
	}
	if *configFile != "" {
		if err := simulator.LoadConfigFile(*configFile, &cfg); err != nil {
			return fail(stderr, "%v", err)
		}
	}
	// Flags given on the command line override the file.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.Listen = *listen
		case "implicit-listen":
			cfg.ImplicitListen = *implicit
		case "passive-ports":
			cfg.PassivePorts = *passive
		case "data":
			cfg.Data = *data
		case "pki":
			cfg.PKI = *pki
		case "log-level":
			cfg.LogLevel = *logLevel
		case "clock":
			cfg.Clock = *clock
		case "control":
			cfg.Control.Listen = *controlAddr
		case "control-token":
			cfg.Control.Token = *controlToken
		case "allow-remote-control":
			cfg.Control.AllowRemote = *allowRemote
		case "public-host":
			cfg.PublicHost = *publicHost
		case "backend-url":
			cfg.Backend.URL = *backendURL
		case "security-url":
			cfg.Security.URL = *securityURL
		case "pprof":
			cfg.Control.Pprof = *pprofOn
		case "session-reuse":
			cfg.SessionReuse = *sessionReuse
		case "remote-timeout":
			cfg.Backend.Timeout, cfg.Security.Timeout = simulator.Duration(*remoteTimeout), simulator.Duration(*remoteTimeout)
		}
	})
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
	logger.Info("shutting down")
	if err := srv.Close(); err != nil {
		return fail(stderr, "%v", err)
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
