package certify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// Evidence is what a scenario's steps tell the engine beyond pass and fail: the step
// definitions' per-scenario state implements it (steps.World).
type Evidence interface {
	// Unsupported says why the target could not run the scenario ("" when it could).
	Unsupported() string
	// Evidence is what the scenario saw, line by line, for the report.
	Evidence() []string
}

// Initializer binds step definitions to one scenario (a godog ScenarioInitializer) and
// returns the scenario's evidence.
type Initializer func(sc *godog.ScenarioContext) Evidence

// Bind turns a step library's binder, whose scenarios give any Evidence type (steps.Gateway
// gives *steps.World), into RunOptions.Steps.
func Bind[E Evidence](bind func(*target.Target) (func(*godog.ScenarioContext) E, error)) func(*target.Target) (Initializer, error) {
	return func(t *target.Target) (Initializer, error) {
		register, err := bind(t)
		if err != nil {
			return nil, err
		}
		return func(sc *godog.ScenarioContext) Evidence { return register(sc) }, nil
	}
}

// collector records every scenario and step as godog runs them (from hooks, so godog's
// formatters are free for progress and cucumber JSON).
type collector struct {
	mu    sync.Mutex
	order []*scenarioRecord
	// probe checks, after a scenario failed, that the target still answers (nil: no check);
	// when it does not, lost is told why once and the rest of the run is not reached.
	probe func() error
	// mark returns the target's last journal sequence number (nil: the target has no
	// journal); taken before and after each scenario.
	mark     func() (int64, bool)
	lost     func(reason string)
	lostOnce sync.Once
}

type scenarioRecord struct {
	reports.Scenario
	evidence    Evidence
	start       time.Time
	cut         bool   // the run was interrupted before it started
	interrupted bool   // the run was interrupted while it ran
	lost        string // the target stopped answering during it
}

func newCollector() *collector { return &collector{} }

// initializer wraps the step definitions' initializer: the collector's hooks go around
// theirs, so every scenario is recorded whatever their hooks do.
func (c *collector) initializer(init Initializer) func(*godog.ScenarioContext) {
	return func(sc *godog.ScenarioContext) {
		rec := &scenarioRecord{}
		sc.Before(func(ctx context.Context, scn *godog.Scenario) (context.Context, error) {
			c.begin(rec, scn, ctx.Err() != nil)
			return ctx, nil
		})
		rec.evidence = init(sc)
		sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
			c.step(ctx, rec, st, status, err)
			return ctx, nil
		})
		sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
			c.end(rec)
			if err != nil && ctx.Err() == nil {
				c.checkTarget(rec)
			}
			return ctx, nil
		})
	}
}

func (c *collector) begin(rec *scenarioRecord, scn *godog.Scenario, cut bool) {
	var window *reports.JournalWindow
	if c.mark != nil && !cut {
		if seq, ok := c.mark(); ok {
			window = &reports.JournalWindow{From: seq, To: seq}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec.start, rec.cut = time.Now(), cut
	rec.Journal = window
	rec.File = scn.Uri[strings.LastIndex(scn.Uri, "/")+1:]
	rec.Feature = catalogue.FeatureName(scn.Uri)
	rec.Name = scn.Name
	for _, t := range scn.Tags {
		rec.Tags = append(rec.Tags, t.Name)
	}
	c.order = append(c.order, rec)
}

func (c *collector) step(ctx context.Context, rec *scenarioRecord, st *godog.Step, status godog.StepResultStatus, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := reports.Step{Text: st.Text, Status: status.String(), Precondition: st.Type == messages.PickleStepType_CONTEXT}
	if err != nil && !errors.Is(err, godog.ErrSkip) {
		s.Error = err.Error()
		var b *catalogue.BlockedError
		if errors.As(err, &b) {
			s.BlockedBy = b.By
		}
	}
	if ctx.Err() != nil {
		rec.interrupted = true // the run was stopped while this scenario ran
	}
	rec.Steps = append(rec.Steps, s)
}

// checkTarget asks, after a failed scenario, whether the target still answers: a failure of a
// target that is gone is not a verdict on the gateway (the run ends as ERROR).
func (c *collector) checkTarget(rec *scenarioRecord) {
	if c.probe == nil {
		return
	}
	if err := c.probe(); err != nil {
		c.mu.Lock()
		rec.lost = err.Error()
		c.mu.Unlock()
		c.lostOnce.Do(func() { c.lost(err.Error()) })
	}
}

func (c *collector) end(rec *scenarioRecord) {
	var seq int64
	ok := false
	if c.mark != nil {
		seq, ok = c.mark()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec.Duration = time.Since(rec.start)
	if rec.Journal != nil {
		if ok {
			rec.Journal.To = seq
		} else {
			rec.Journal = nil
		}
	}
}

// scenarios returns the results in execution order with their final status.
func (c *collector) scenarios() []reports.Scenario {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []reports.Scenario
	for _, rec := range c.order {
		s := rec.Scenario
		if rec.evidence != nil {
			s.Unsupported = rec.evidence.Unsupported()
			s.Evidence = append([]string{}, rec.evidence.Evidence()...)
		}
		s.Status = reports.Pass
		for _, st := range s.Steps {
			switch st.Status {
			case "passed", "skipped":
			default: // failed, undefined, pending, ambiguous: in a strict suite all fail
				if s.Failure != "" {
					continue
				}
				s.Failure = strings.TrimSpace(st.Text + ": " + firstNonEmpty(st.Error, st.Status))
				s.Status = reports.Fail
				// A precondition that failed, or a step that needed what another
				// requirement judges: blocked, unless that requirement passes here (Verdicts).
				if st.Precondition || st.BlockedBy != "" {
					s.Status, s.BlockedBy = reports.Blocked, st.BlockedBy
				}
			}
		}
		if s.Status == reports.Pass && s.Unsupported != "" {
			s.Status = reports.Unsupported
		}
		ranOne := slices.ContainsFunc(s.Steps, func(st reports.Step) bool { return st.Status == "passed" })
		switch {
		case rec.cut:
			s.Status, s.NotRun = reports.NotRun, "the run was interrupted before it started"
		case s.Status == reports.Pass && len(s.Steps) == 0:
			s.Status = reports.Fail
			s.Failure = "no step ran"
		case s.Status == reports.Pass && !ranOne:
			// Every step skipped and nothing said why: nothing was tested.
			s.Status, s.NotRun = reports.NotRun, "no step ran"
		}
		if rec.lost != "" && s.Status != reports.Pass {
			s.Status, s.NotRun, s.BlockedBy = reports.NotRun, "the target stopped answering during this scenario: "+rec.lost, ""
		}
		if rec.interrupted && s.Status != reports.Pass && rec.lost == "" {
			// Cut by the interrupt: not a verdict on the target.
			s.Status, s.NotRun, s.BlockedBy = reports.NotRun, "the run was interrupted while it ran: "+firstNonEmpty(s.Failure, "no step finished"), ""
		}
		out = append(out, s)
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
