package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
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
	Tags     string // godog tag expression, e.g. "@GW-TLS-01 && ~@needs-control"
	// Strict treats assumed requirements as MUST (also set by the profile's strict: true).
	Strict bool
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
// requirement. An error means the suite could not run at all (bad catalogue, unreachable
// control API); failed requirements are in the result, not in the error.
func Run(ctx context.Context, opts RunOptions) (*reports.Run, error) {
	if opts.Profile == nil || opts.Features == nil {
		return nil, errors.New("a profile and a feature set are required")
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
	hash, err := featuresHash(opts.Features)
	if err != nil {
		return nil, err
	}
	// One plain sentence instead of every scenario failing the same way.
	d := net.Dialer{Timeout: time.Duration(opts.Profile.Timeouts.Operation)}
	conn, err := d.DialContext(ctx, "tcp", opts.Profile.Address)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the target's FTPS address %s: %w", opts.Profile.Address, err)
	}
	conn.Close()
	suite, err := NewSuite(ctx, opts.Profile)
	if err != nil {
		return nil, err
	}
	initializer := suite.InitializeScenario
	if opts.Adapter != nil {
		if suite.api == nil {
			return nil, errors.New("client certification needs the simulator's control API")
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
			Tags: opts.Tags, Strict: true, Concurrency: 1, NoColors: true, DefaultContext: ctx,
		},
	}.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("the run was interrupted: %w", ctx.Err())
	}
	kind := opts.Kind
	if kind == "" {
		kind = "gateway"
	}
	run := &reports.Run{
		Kind: kind, Suite: opts.Version, FeaturesHash: hash, Started: started, Duration: time.Since(started),
		Target: reports.Target{Name: opts.Profile.Name, Address: opts.Profile.Address, Mode: opts.Profile.Mode,
			Control: opts.Profile.Control != nil, Description: opts.Description},
		Strict: strict, Tags: opts.Tags, Scenarios: suite.results.scenarios(),
	}
	run.Requirements = Verdicts(catalogue, run.Scenarios, strict)
	return run, nil
}

// Verdicts computes each requirement's status from its scenarios: FAIL (or WARN for a SHOULD)
// if any failed; PASS if at least one passed and none failed; UNSUPPORTED if every one was
// unsupported; NOT RUN if none ran. Assumed requirements are SHOULD unless strict.
func Verdicts(catalogue []Requirement, scenarios []reports.Scenario, strict bool) []reports.Requirement {
	var out []reports.Requirement
	for _, r := range catalogue {
		req := reports.Requirement{ID: r.ID, Title: r.Title, Level: r.Level, Effective: r.Level, Basis: r.Basis,
			Source: r.Source, Danish: r.Danish, English: r.English, Status: reports.NotRun}
		if r.Basis == "assumed" {
			req.Effective = "SHOULD"
			if strict {
				req.Effective = "MUST"
			}
		}
		var pass, fail, unsupported int
		for i, s := range scenarios {
			if !slices.Contains(s.Tags, "@"+r.ID) {
				continue
			}
			req.Scenarios = append(req.Scenarios, i)
			switch s.Status {
			case reports.Pass:
				pass++
			case reports.Fail:
				fail++
			case reports.Unsupported:
				unsupported++
			}
		}
		switch {
		case fail > 0 && req.Effective == "MUST":
			req.Status = reports.Fail
		case fail > 0:
			req.Status = reports.Warn
		case pass > 0:
			req.Status = reports.Pass
		case unsupported > 0:
			req.Status = reports.Unsupported
		}
		out = append(out, req)
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
