package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/reports"
)

// RunOptions configure a certification run.
type RunOptions struct {
	Profile  *Profile
	Features fs.FS  // the suite: *.feature and requirements.yaml at its root
	Tags     string // tag expression, e.g. "@GW-TLS-01 and not @needs-control" (see TagExpr)
	// Strict treats assumed requirements as MUST (also set by the profile's strict: true).
	Strict bool
	// FailOnWarn fails the run on a failed SHOULD too (--fail-on warn).
	FailOnWarn bool
	// Deadline bounds the whole run (0: none); past it the run ends INTERRUPTED.
	Deadline time.Duration
	// Progress receives godog's progress output while the suite runs.
	Progress io.Writer
	// CucumberJSON, when set, is the path of godog's cucumber JSON report.
	CucumberJSON string
	Version      string // ftpsgw version, for the reports
	Description  string // what the target is, for the reports
	Kind         string // "gateway" (default) or "client"
	// Adapter, when set, certifies the client it runs (the profile is the simulator it talks to;
	// its control API is required).
	Adapter *Adapter
}

// Run certifies the profile's target with the suite and returns the run with a verdict per
// requirement. An error means the suite could not run at all: a *UsageError for a selection
// or profile mistake, another error for a target that is not an FTPS server as the profile
// says. Failed requirements are in the result, not in the error; an interrupted run (ctx
// cancelled, or the deadline passed) comes back with Interrupted set and what it had.
func Run(ctx context.Context, opts RunOptions) (*reports.Run, error) {
	if opts.Profile == nil || opts.Features == nil {
		return nil, &UsageError{Msg: "a profile and a feature set are required"}
	}
	catalogue, err := LoadCatalogue(opts.Features)
	if err != nil {
		return nil, err
	}
	written, err := ParseScenarios(opts.Features)
	if err != nil {
		return nil, err
	}
	if err := CheckCoverage(catalogue, written); err != nil {
		return nil, err
	}
	for _, id := range opts.Profile.Scope {
		if !slices.ContainsFunc(catalogue, func(r Requirement) bool { return r.ID == id }) {
			return nil, &UsageError{Msg: fmt.Sprintf("the profile's scope names %s, which the suite does not hold", id)}
		}
	}
	plan, err := Plan(opts.Features)
	if err != nil {
		return nil, err
	}
	expr, selected, err := Select(plan, opts.Tags)
	if err != nil {
		return nil, err
	}
	hash, err := featuresHash(opts.Features)
	if err != nil {
		return nil, err
	}
	interrupted := func(started time.Time) *reports.Run {
		run := &reports.Run{Kind: opts.Kind, Suite: opts.Version, FeaturesHash: hash, Started: started, Duration: time.Since(started),
			Target: reports.Target{Name: opts.Profile.Name, Address: opts.Profile.Address, Mode: opts.Profile.Mode,
				Control: opts.Profile.Control != nil, Description: opts.Description},
			Strict: opts.Strict || opts.Profile.Strict, Tags: opts.Tags, Scope: opts.Profile.Scope, Interrupted: true,
			Scenarios: notStarted(selected, nil)}
		if run.Kind == "" {
			run.Kind = "gateway"
		}
		run.Requirements = Verdicts(VerdictInput{Catalogue: catalogue, Planned: plan, Selected: selected,
			Scenarios: run.Scenarios, Strict: run.Strict, Scope: run.Scope})
		return run
	}
	if err := Preflight(ctx, opts.Profile); err != nil {
		if ctx.Err() != nil {
			return interrupted(time.Now()), nil
		}
		return nil, err
	}
	if opts.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Deadline)
		defer cancel()
	}
	suite, err := NewSuite(ctx, opts.Profile)
	if err != nil {
		return nil, err
	}
	initializer := suite.InitializeScenario
	if opts.Adapter != nil {
		if suite.api == nil {
			return nil, &UsageError{Msg: "client certification needs the simulator's control API"}
		}
		a := *opts.Adapter
		if a.Identity == "" {
			a.Identity = "moces"
		}
		if a.Timeout == 0 {
			a.Timeout = 60 * time.Second
		}
		suite.adapter = &a
		initializer = suite.initializeClientScenario
		opts.Kind = "client"
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	format := "progress"
	if opts.CucumberJSON != "" {
		format += ",cucumber:" + opts.CucumberJSON
	}
	strict := opts.Strict || opts.Profile.Strict
	started := time.Now()
	godog.TestSuite{
		Name:                "ftpsgw",
		ScenarioInitializer: initializer,
		Options: &godog.Options{
			Format: format, Output: opts.Progress, FS: opts.Features, Paths: []string{"."},
			Tags: expr.Godog(), Strict: true, Concurrency: 1, NoColors: true, DefaultContext: ctx,
		},
	}.Run()
	kind := opts.Kind
	if kind == "" {
		kind = "gateway"
	}
	run := &reports.Run{
		Kind: kind, Suite: opts.Version, FeaturesHash: hash, Started: started, Duration: time.Since(started),
		Target: reports.Target{Name: opts.Profile.Name, Address: opts.Profile.Address, Mode: opts.Profile.Mode,
			Control: opts.Profile.Control != nil, Description: opts.Description},
		Strict: strict, Tags: opts.Tags, Scope: opts.Profile.Scope, FailOnWarn: opts.FailOnWarn,
		Interrupted: ctx.Err() != nil, Scenarios: suite.results.scenarios(),
	}
	ran := len(run.Scenarios)
	run.Scenarios = append(run.Scenarios, notStarted(selected, run.Scenarios)...)
	if !run.Interrupted && ran != len(selected) {
		return nil, fmt.Errorf("internal error: %d scenarios were selected, godog ran %d", len(selected), ran)
	}
	run.Requirements = Verdicts(VerdictInput{Catalogue: catalogue, Planned: plan, Selected: selected,
		Scenarios: run.Scenarios, Strict: strict, Scope: opts.Profile.Scope})
	return run, nil
}

// notStarted lists the selected scenarios that never started (the run was interrupted) as NOT RUN.
func notStarted(selected []PlannedScenario, ran []reports.Scenario) []reports.Scenario {
	seen := map[string]int{}
	for _, s := range ran {
		seen[s.Feature+"\x00"+s.Name]++
	}
	var out []reports.Scenario
	for _, p := range selected {
		k := p.Feature + "\x00" + p.Name
		if seen[k] > 0 {
			seen[k]--
			continue
		}
		out = append(out, reports.Scenario{Feature: p.Feature, Name: p.Name, Tags: p.Tags, Status: reports.NotRun,
			NotRun: "the run was interrupted before it started"})
	}
	return out
}

// featuresHash is the SHA-256 over every file of the suite (names and contents, sorted).
func featuresHash(fsys fs.FS) (string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
