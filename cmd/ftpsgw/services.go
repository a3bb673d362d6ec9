package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ftpsgw/ftpsgw/simulator"
)

// applyEnv sets every flag not given on the command line from FTPSGW_<NAME> (upper case,
// '-' as '_'), so a container is configured by environment as well as by flags.
func applyEnv(fs *flag.FlagSet, stderr io.Writer) bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	ok := true
	fs.VisitAll(func(f *flag.Flag) {
		env := "FTPSGW_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, set := os.LookupEnv(env)
		if given[f.Name] || !set {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			fmt.Fprintf(stderr, "ftpsgw: %s=%q: %v\n", env, v, err)
			ok = false
		}
	})
	return ok
}

// runService runs `ftpsgw backend` or `ftpsgw security`: one HTTP service with its state in
// a data folder, until SIGINT or SIGTERM.
func runService(name string, args []string, stdout, stderr io.Writer) int {
	defaults := map[string][2]string{"backend": {"127.0.0.1:7101", "ftpsgw-backend"}, "security": {"127.0.0.1:7102", "ftpsgw-security"}}[name]
	fs := flag.NewFlagSet("ftpsgw "+name, flag.ContinueOnError)
	listen := fs.String("listen", defaults[0], "HTTP address to serve on")
	data := fs.String("data", defaults[1], "data folder (SQLite database"+map[string]string{"backend": " and received files)", "security": ")"}[name])
	configFile := fs.String("config", "", "simulator YAML config; its backend section gives the initial rules (backend only)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		what := map[string]string{
			"backend":  "SKAT's backend systems: receives delivered files (idempotent by SKATTransactionId)\nand answers each by its rules",
			"security": "the central security system: registrations and roles, which gateways replicate",
		}[name]
		fmt.Fprintf(stderr, "Usage: ftpsgw %s [flags]\n\nRuns %s,\nas a process of its own. Gateways reach it with serve --%s-url http://ADDR.\nEvery flag can also be set as FTPSGW_<FLAG> in the environment. TEST use only.\n\nFlags:\n", name, what, name)
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
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fail(stderr, "--log-level %q: %v", *logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var svc interface {
		Handler() http.Handler
		Close() error
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch name {
	case "backend":
		cfg := simulator.DefaultConfig()
		if *configFile != "" {
			if err := simulator.LoadConfigFile(*configFile, &cfg); err != nil {
				return fail(stderr, "%v", err)
			}
			if err := cfg.Validate(); err != nil {
				return fail(stderr, "invalid settings:\n%v", err)
			}
		}
		b, err := simulator.OpenBackendService(*data, cfg.Backend, version)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		svc = b
	case "security":
		if *configFile != "" {
			return fail(stderr, "--config is for the backend only")
		}
		s, err := simulator.OpenSecurityService(*data, version)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		svc = s
	}
	defer svc.Close()
	err := simulator.ServeHTTPUntil(ctx, *listen, svc.Handler(), logger, func(addr string) {
		fmt.Fprintf(stdout, "ftpsgw %s (TEST) listening on http://%s, data in %s\n", name, addr, *data)
	})
	if err != nil {
		return fail(stderr, "%v", err)
	}
	logger.Info("shutting down")
	return exitOK
}
