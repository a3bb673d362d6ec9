// Package certify is the certification engine: it loads the suite (features/catalogue),
// selects scenarios by tag expression, checks the target (Preflight), holds its lease, runs the
// step definitions it is given under godog, records every scenario and computes a verdict per
// requirement (Verdicts). It knows nothing of how a step talks to a gateway: the step
// definitions come in as an Initializer whose scenarios report their Evidence.
package certify

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// RunOptions configure a certification run.
type RunOptions struct {
	Profile  *target.Profile
	Features fs.FS  // the suite: *.feature and requirements.yaml at its root
	Tags     string // tag expression, e.g. "@GW-TLS-01 and not @needs-control" (see TagExpr)
	// Steps binds the step definitions to the opened target; it is called once, after the
	// preflight and with the target's lease held, and gives the godog initializer.
	Steps func(t *target.Target) (Initializer, error)
	// Strict treats assumed requirements as MUST (also set by the profile's strict: true).
	Strict bool
	// FailOnWarn fails the run on a failed SHOULD too (--fail-on warn).
	FailOnWarn bool
	// Deadline bounds the whole run (0: none); past it the run ends INTERRUPTED.
	Deadline time.Duration
	// LeaseWait bounds the wait for a simulator another run holds (default 2 minutes).
	LeaseWait time.Duration
	// Progress receives godog's progress output while the suite runs.
	Progress io.Writer
	// CucumberJSON, when set, is the path of godog's cucumber JSON report.
	CucumberJSON string
	Version      string // ftpsgw version, for the reports
	Description  string // what the target is, for the reports
	Kind         string // "gateway" (default) or "client"
	// Ephemeral: the target ends with the run (the embedded simulator), so the report does
	// not link its dashboard.
	Ephemeral bool
}

// Run certifies the profile's target with the suite and returns the run with a verdict per
// requirement. An error means the suite could not run at all: a *UsageError for a selection
// or profile mistake, another error for a target that is not an FTPS server as the profile
// says. Failed requirements are in the result, not in the error; an interrupted run (ctx
// cancelled, or the deadline passed) comes back with Interrupted set and what it had.
func Run(ctx context.Context, opts RunOptions) (*reports.Run, error) {
	p, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	if err := Preflight(ctx, opts.Profile); err != nil {
		if ctx.Err() != nil {
			return p.report(opts, time.Now(), nil, true), nil
		}
		return nil, err
	}
	if opts.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Deadline)
		defer cancel()
	}
	t, err := target.Open(ctx, opts.Profile)
	if err != nil {
		return nil, err
	}
	if t.State != nil && opts.Profile.MayReset() {
		release, err := holdLease(ctx, t.State, opts.LeaseWait, opts.Progress)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	init, err := opts.Steps(t)
	if err != nil {
		// the target lacks what these steps need (client certification without a control API)
		return nil, &UsageError{Msg: err.Error()}
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	format := "progress"
	if opts.CucumberJSON != "" {
		format += ",cucumber:" + opts.CucumberJSON
	}
	started := time.Now()
	progress := &progressFilter{out: opts.Progress}
	defer progress.flush()
	results := newCollector()
	// A target that stops answering after the preflight ends the run as ERROR: the
	// scenarios not reached are NOT RUN, not failures of the gateway.
	ctx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var lost string
	results.probe = func() error {
		pctx, cancel := context.WithTimeout(context.Background(), 2*preflightWait)
		defer cancel()
		return Alive(pctx, opts.Profile)
	}
	var dashboard string
	if t.API != nil {
		// The journal's position around each scenario, so the report can show what the
		// gateway saw during it (a target without a journal answers an error: no window).
		results.mark = func() (int64, bool) {
			mctx, cancel := context.WithTimeout(ctx, preflightWait)
			defer cancel()
			j, err := t.API.Journal(mctx, control.JournalQuery{Since: math.MaxInt64})
			return j.LastSeq, err == nil
		}
		if !opts.Ephemeral {
			dashboard = findDashboard(ctx, opts.Profile.Control.URL)
		}
	}
	results.lost = func(reason string) {
		lost = reason
		fmt.Fprintf(opts.Progress, "\nthe target stopped answering: %s; ending the run\n", reason)
		stopRun()
	}
	godog.TestSuite{
		Name:                "ftpsgw",
		ScenarioInitializer: results.initializer(init),
		Options: &godog.Options{
			Format: format, Output: progress, FS: opts.Features, Paths: []string{"."},
			Tags: p.expr.Godog(), Strict: true, Concurrency: 1, NoColors: true, DefaultContext: ctx,
		},
	}.Run()
	ran := results.scenarios()
	if ctx.Err() == nil && len(ran) != len(p.selected) {
		return nil, fmt.Errorf("internal error: %d scenarios were selected, godog ran %d", len(p.selected), len(ran))
	}
	if lost != "" {
		run := p.report(opts, started, ran, false)
		run.Dashboard = dashboard
		run.TargetLost = lost
		for i := range run.Scenarios {
			if s := &run.Scenarios[i]; s.Status == reports.NotRun && strings.HasPrefix(s.NotRun, "the run was interrupted") {
				s.NotRun = "not reached: the target stopped answering"
			}
		}
		run.Requirements = Verdicts(VerdictInput{Catalogue: p.suite.Requirements, Planned: p.suite.Scenarios, Selected: p.selected,
			Scenarios: run.Scenarios, Strict: run.Strict, Scope: run.Scope})
		return run, nil
	}
	run := p.report(opts, started, ran, ctx.Err() != nil)
	run.Dashboard = dashboard
	return run, nil
}

// runPlan is what a run certifies: the suite and the scenarios the tags selected.
type runPlan struct {
	suite    *catalogue.Suite
	selected []catalogue.Scenario
	expr     *TagExpr
}

// prepare checks the suite, the profile's scope and the selection before anything runs.
func prepare(opts RunOptions) (*runPlan, error) {
	if opts.Profile == nil || opts.Features == nil || opts.Steps == nil {
		return nil, &UsageError{Msg: "a profile, a feature set and step definitions are required"}
	}
	suite, err := catalogue.Load(opts.Features)
	if err != nil {
		return nil, err
	}
	for _, id := range opts.Profile.Scope {
		if _, ok := suite.Requirement(id); !ok {
			return nil, &UsageError{Msg: fmt.Sprintf("the profile's scope names %s, which the suite does not hold", id)}
		}
	}
	p := &runPlan{suite: suite}
	if p.expr, p.selected, err = Select(suite.Scenarios, opts.Tags); err != nil {
		return nil, err
	}
	return p, nil
}

// report is the run with its verdicts: the scenarios that ran, and the selected ones that
// never started as NOT RUN.
func (p *runPlan) report(opts RunOptions, started time.Time, ran []reports.Scenario, interrupted bool) *reports.Run {
	kind := opts.Kind
	if kind == "" {
		kind = "gateway"
	}
	run := &reports.Run{
		Kind: kind, Suite: opts.Version, FeaturesHash: p.suite.Hash, CatalogueHash: p.suite.CatalogueHash, Started: started, Duration: time.Since(started),
		Target: reports.Target{Name: opts.Profile.Name, Address: opts.Profile.Address, Mode: opts.Profile.Mode,
			Control: opts.Profile.Control != nil, Description: opts.Description},
		Strict: opts.Strict || opts.Profile.Strict, Tags: opts.Tags, Scope: opts.Profile.Scope, FailOnWarn: opts.FailOnWarn,
		Interrupted: interrupted, Scenarios: append(ran, notStarted(p.selected, ran)...),
	}
	run.Requirements = Verdicts(VerdictInput{Catalogue: p.suite.Requirements, Planned: p.suite.Scenarios, Selected: p.selected,
		Scenarios: run.Scenarios, Strict: run.Strict, Scope: run.Scope})
	return run
}

// leaseTTL bounds how long a run's lease outlives the run when its holder is killed: it is
// renewed every leaseTTL/3 while the run lives.
const leaseTTL = 30 * time.Second

// holdLease takes the target for this run through its state (the simulator's control API, or
// a state adapter's lease action), so no other run resets it meanwhile, waiting up to wait
// while another holds it, and renews it until release is called. A target without a lease
// is run without one; one still busy after wait is "target busy" (an error, never a verdict).
func holdLease(ctx context.Context, st target.State, wait time.Duration, progress io.Writer) (release func(), err error) {
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("certify-%s@%s:%d", randomLetters(8), host, os.Getpid())
	deadline := time.Now().Add(wait)
	told := false
	for {
		err = st.Lease(ctx, holder, leaseTTL)
		if err == nil {
			break
		}
		if errors.Is(err, target.ErrNoLease) {
			return func() {}, nil
		}
		if !errors.Is(err, target.ErrBusy) || time.Now().After(deadline) || ctx.Err() != nil {
			if errors.Is(err, target.ErrBusy) {
				return nil, err // "target busy: …": who holds it, and since when
			}
			return nil, fmt.Errorf("taking the target's lease: %w", err)
		}
		if !told && progress != nil {
			fmt.Fprintf(progress, "waiting up to %s for the target: %v\n", wait, err)
			told = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = st.Lease(context.Background(), holder, leaseTTL)
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		_ = st.Release(context.Background(), holder)
	}, nil
}

// randomLetters returns n random letters.
func randomLetters(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b[i] = letters[v.Int64()]
	}
	return string(b)
}

// notStarted lists the selected scenarios that never started (the run was interrupted) as NOT RUN.
func notStarted(selected []catalogue.Scenario, ran []reports.Scenario) []reports.Scenario {
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
		out = append(out, reports.Scenario{Scenario: p, Status: reports.NotRun,
			NotRun: "the run was interrupted before it started"})
	}
	return out
}

// godogCounts matches godog's own closing counts ("3 scenarios (3 passed)", "9 steps (…)")
// and its run time: godog counts an UNSUPPORTED scenario (its steps skipped) as passed, so
// those lines would contradict the verdicts printed after them.
var godogCounts = regexp.MustCompile(`^(\d+ (scenarios?|steps?) \(.*\)|[0-9.]+(ns|µs|ms|s)|(\d+m)+[0-9.]+s|No scenarios|No steps)$`)

// progressFilter passes godog's progress output through, without godog's closing counts.
type progressFilter struct {
	out     io.Writer
	partial []byte
}

func (f *progressFilter) Write(p []byte) (int, error) {
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		line := f.partial[:i+1]
		if !godogCounts.Match(bytes.TrimSpace(line)) {
			if _, err := f.out.Write(line); err != nil {
				return 0, err
			}
		}
		f.partial = f.partial[i+1:]
	}
	if len(f.partial) > 0 && !bytes.ContainsAny(f.partial[:1], "0123456789N") {
		// progress marks arrive without a newline: show them as they come (a line that may
		// be one of godog's counts waits for its end)
		if _, err := f.out.Write(f.partial); err != nil {
			return 0, err
		}
		f.partial = f.partial[:0]
	}
	return len(p), nil
}

// flush writes what is left (a last line without a newline).
func (f *progressFilter) flush() {
	if len(f.partial) > 0 && !godogCounts.Match(bytes.TrimSpace(f.partial)) {
		f.out.Write(f.partial)
	}
	f.partial = nil
}

// findDashboard returns the address of the target's dashboard (an ftpsgw simulator's /ui/)
// when its control listener serves one, "" otherwise.
func findDashboard(ctx context.Context, controlURL string) string {
	base := strings.TrimRight(controlURL, "/")
	ctx, cancel := context.WithTimeout(ctx, preflightWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ui/api/state", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return ""
	}
	return base + "/ui/"
}
