package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/steps"
	"github.com/ftpsgw/ftpsgw/steps/certify"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

func runCertify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpsgw certify", flag.ContinueOnError)
	targetPath := fs.String("target", "", "target profile (YAML); without it the embedded simulator is certified")
	tags := fs.String("tags", "", `tag expression, e.g. "@GW-TLS-01", "@GW-TLS-01 or @GW-AUTH-02", "not @needs-control" (godog's "~@needs-control" too)`)
	gate := bindGateFlags(fs)
	bundle := bindBundleFlags(fs)
	reportDir := fs.String("report", "ftpsgw-report", "folder for junit.xml, cucumber.json, report.html and results.json")
	strict := fs.Bool("strict", false, "treat assumed requirements as MUST")
	failOn := fs.String("fail-on", "must", "must: a failed SHOULD is a warning; warn: it fails the run too")
	deadline := fs.Duration("deadline", time.Hour, "bound the whole run; past it the run ends INTERRUPTED (exit 4)")
	leaseWait := fs.Duration("lease-wait", 2*time.Minute, "how long to wait for a simulator another certification holds; then exit 1 'target busy'")
	var defects stringList
	fs.Var(&defects, "defect", "embedded simulator only: break one rule on purpose (repeatable; see --list-defects)")
	listDefects := fs.Bool("list-defects", false, "print the simulator's defect switches and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw certify [--target FILE] [--tags EXPR] [--report DIR] [--strict]\n\nCertifies an FTPS gateway against SKAT's requirements (features/*.feature) and writes\nJUnit, cucumber JSON and HTML reports. Exit 0 only when every MUST requirement passes.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	if msg := usageProblem(fs, map[string]time.Duration{"deadline": *deadline}); msg != "" || (*failOn != "must" && *failOn != "warn") {
		if msg == "" {
			msg = fmt.Sprintf("--fail-on %q: use must or warn", *failOn)
		}
		fmt.Fprintf(stderr, "ftpsgw certify: %s\n\n", msg)
		fs.Usage()
		return exitUsage
	}
	if *listDefects {
		for _, d := range simulator.Defects() {
			fmt.Fprintf(stdout, "%-26s %s: %s\n", d.Name, d.Requirement, d.Breaks)
		}
		return exitOK
	}
	for _, d := range defects {
		if !slices.ContainsFunc(simulator.Defects(), func(k simulator.Defect) bool { return k.Name == d }) {
			fmt.Fprintf(stderr, "ftpsgw certify: unknown defect %q (see --list-defects)\n", d)
			return exitUsage
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, code, ok := prepareOutputs("certify", *reportDir, bundle, gate, stderr)
	if !ok {
		return code
	}

	var profile *target.Profile
	description := ""
	if *targetPath != "" {
		if len(defects) > 0 {
			fmt.Fprintln(stderr, "ftpsgw certify: --defect applies to the embedded simulator only")
			return exitUsage
		}
		p, err := target.LoadProfile(*targetPath)
		if err != nil {
			fmt.Fprintf(stderr, "ftpsgw certify: %v\n", err)
			return exitUsage
		}
		profile = p
	} else {
		emb, err := startEmbedded(ctx, defects)
		if err != nil && ctx.Err() != nil {
			fmt.Fprintln(stderr, "ftpsgw certify: interrupted while the embedded simulator started; nothing ran")
			return exitInterrupted
		}
		if err != nil {
			return fail(stderr, "starting the embedded simulator: %v", err)
		}
		defer emb.close()
		profile = emb.profile
		description = "embedded simulator, virtual clock, fresh PKI, session_reuse required"
		if len(defects) > 0 {
			description += fmt.Sprintf(", defects %v", defects)
		}
		fmt.Fprintf(stderr, "certifying the embedded simulator at %s (control API %s)\n", emb.sim.FTPS, emb.sim.ControlURL)
	}
	run, err := certify.Run(ctx, certify.RunOptions{
		Profile: profile, Features: features.FS, Steps: certify.Bind(steps.Gateway), Tags: *tags, Strict: *strict, Progress: stderr,
		FailOnWarn: *failOn == "warn", Deadline: *deadline, LeaseWait: *leaseWait,
		CucumberJSON: filepath.Join(*reportDir, "cucumber.json"), Version: version, Description: description,
		Ephemeral: *targetPath == "", // the embedded simulator's dashboard ends with the run
	})
	if err != nil {
		return runError(stderr, err)
	}
	out.profile = profile
	return finishRun(run, out, stdout, stderr)
}

// usageProblem says what is wrong with a command's arguments: a stray argument (a profile
// given without --target above all) or a duration flag that is not positive; "" when nothing is.
func usageProblem(fs *flag.FlagSet, durations map[string]time.Duration) string {
	if fs.NArg() > 0 {
		arg := fs.Arg(0)
		if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
			return fmt.Sprintf("unexpected argument %q: a target profile is given with --target %s", arg, arg)
		}
		return fmt.Sprintf("unexpected argument %q: every setting is a flag", arg)
	}
	names := make([]string, 0, len(durations))
	for name := range durations {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if d := durations[name]; d <= 0 {
			return fmt.Sprintf("--%s %s: must be a positive duration (e.g. 30m, 1h)", name, d)
		}
	}
	return ""
}

// runError turns an error of certify.Run into the exit code: a usage error is 2 (nothing ran).
func runError(stderr io.Writer, err error) int {
	var ue *certify.UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "ftpsgw: %v\n", err)
		return exitUsage
	}
	return fail(stderr, "%v", err)
}

// prepareReportDir makes the report folder and removes the reports of an earlier run, so
// what is there after this run is this run's, whatever happens to it.
func prepareReportDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"junit.xml", "report.html", "cucumber.json", "results.json"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// finishRun writes the reports, prints the summary last, and turns the verdict into the exit code.
// finish is where a run's reports go: the folder, the gate, and the bundle (optional, signed
// with key).
type finish struct {
	dir, bundle string
	key         ed25519.PrivateKey
	gating      gateInputs
	profile     *target.Profile
}

// prepareOutputs reads what the outputs need (the signing key, the baseline and waivers:
// a mistake there is a usage error before anything runs) and empties the report folder: the
// reports of an earlier run go first, whatever happens next, so a run stopped while it starts
// leaves no other run's PASS behind.
func prepareOutputs(command, dir string, bundle bundleFlags, gate gateFlags, stderr io.Writer) (finish, int, bool) {
	out := finish{dir: dir, bundle: *bundle.path}
	var err error
	if out.key, err = bundle.signingKey(); err == nil {
		out.gating, err = gate.load()
	}
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw %s: %v\n", command, err)
		return out, exitUsage, false
	}
	if err := prepareReportDir(dir); err != nil {
		return out, fail(stderr, "%v", err), false
	}
	return out, 0, true
}

func finishRun(run *reports.Run, out finish, stdout, stderr io.Writer) int {
	out.gating.apply(run)
	if out.profile != nil {
		if red, err := out.profile.Redacted(); err == nil {
			run.Profile = string(red)
		}
	}
	if err := reports.WriteFiles(out.dir, run); err != nil {
		return fail(stderr, "writing reports: %v", err)
	}
	reports.WriteSummary(stdout, run)
	fmt.Fprintf(stdout, "Reports: %s\n", out.dir)
	if out.bundle != "" {
		if err := writeBundle(out.bundle, out.key, out.dir, out.profile); err != nil {
			return fail(stderr, "writing the bundle: %v", err)
		}
		signed := "unsigned"
		if out.key != nil {
			signed = "signed"
		}
		fmt.Fprintf(stdout, "Bundle: %s (%s)\n", out.bundle, signed)
	}
	return run.ExitCode() // the verdict's, or the gate's with --baseline/--waivers
}

// embedded is an in-process simulator (simtest) and the profile the suite certifies it by.
type embedded struct {
	sim     *simtest.Simulator
	profile *target.Profile
}

func (e *embedded) close() { e.sim.Close() }

// startEmbedded starts the simulator as certification wants it: its strictest settings,
// a virtual clock, free loopback ports, the documented passive range, and login lock-outs
// out of the way (the suite makes many failed logins on purpose).
func startEmbedded(ctx context.Context, defects []string) (*embedded, error) {
	return startSimulator(ctx, simtest.Options{Defects: defects})
}

func startSimulator(ctx context.Context, opts simtest.Options) (*embedded, error) {
	opts.Version = version
	sim, err := simtest.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	e := &embedded{sim: sim}
	e.profile, err = sim.Profile()
	if err == nil {
		e.profile.Name = "ftpsgw embedded simulator"
	}
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}
