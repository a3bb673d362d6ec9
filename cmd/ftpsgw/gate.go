package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ftpsgw/ftpsgw/reports"
)

// gateFlags are --baseline and --waivers, shared by certify and certify-client.
type gateFlags struct {
	baseline, waivers *string
}

func bindGateFlags(fs *flag.FlagSet) gateFlags {
	return gateFlags{
		baseline: fs.String("baseline", "", "results.json (or a report folder) of an earlier run: fail only on requirements worse than there"),
		waivers:  fs.String("waivers", "", "YAML file of waivers {id, reason, owner, expires}: a waived failure does not fail the run; an expired or unused waiver does"),
	}
}

// gateInputs are the gate's baseline and waivers, read before the run so a mistake in them
// is a usage error before anything runs.
type gateInputs struct {
	baseline     *reports.Results
	baselinePath string
	waivers      []reports.Waiver
	on           bool
}

func (g gateFlags) load() (gateInputs, error) {
	var in gateInputs
	if *g.baseline != "" {
		res, err := reports.ReadResults(*g.baseline)
		if err != nil {
			return in, fmt.Errorf("--baseline: %w", err)
		}
		in.baseline, in.baselinePath, in.on = res, *g.baseline, true
	}
	if *g.waivers != "" {
		w, err := reports.LoadWaivers(*g.waivers)
		if err != nil {
			return in, fmt.Errorf("--waivers: %w", err)
		}
		in.waivers, in.on = w, true
	}
	return in, nil
}

// apply gates a finished run (nothing when neither flag was given).
func (in gateInputs) apply(run *reports.Run) {
	if in.on {
		run.Gate = reports.ApplyGate(run, in.baseline, in.baselinePath, in.waivers, time.Now())
	}
}

// runDiff compares two runs' results.json (or report folders).
func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpsgw diff", flag.ContinueOnError)
	format := fs.String("format", "text", "text or markdown (for a merge-request comment)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw diff [--format text|markdown] A B\n\nWhat changed per requirement and scenario from run A to run B (results.json files or\nreport folders). Exit 0: nothing worse; 1: a requirement is worse in B; 2: usage.\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, code, stop := parseInterspersed(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) != 2 || (*format != "text" && *format != "markdown") {
		fmt.Fprintln(stderr, "ftpsgw diff: give two results (results.json files or report folders) and --format text or markdown")
		fs.Usage()
		return exitUsage
	}
	a, err := reports.ReadResults(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw diff: %v\n", err)
		return exitUsage
	}
	b, err := reports.ReadResults(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw diff: %v\n", err)
		return exitUsage
	}
	d := reports.DiffResults(pos[0], a, pos[1], b)
	if *format == "markdown" {
		d.WriteMarkdown(stdout)
	} else {
		d.WriteText(stdout)
	}
	if d.Worse() {
		return exitFailure
	}
	return exitOK
}
