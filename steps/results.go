package steps

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/ftpsgw/ftpsgw/reports"
)

// collector records every scenario and step as godog runs them (from hooks, so godog's
// formatters are free for progress and cucumber JSON).
type collector struct {
	mu    sync.Mutex
	order []string
	byID  map[string]*scenarioRecord
}

type scenarioRecord struct {
	reports.Scenario
	world       *World
	start       time.Time
	interrupted bool
}

func newCollector() *collector { return &collector{byID: map[string]*scenarioRecord{}} }

func (c *collector) begin(scn *godog.Scenario, w *World) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := &scenarioRecord{world: w, start: time.Now()}
	rec.Feature = featureName(scn.Uri)
	rec.Name = scn.Name
	for _, t := range scn.Tags {
		rec.Tags = append(rec.Tags, t.Name)
	}
	c.byID[scn.Id] = rec
	c.order = append(c.order, scn.Id)
}

func (c *collector) step(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) {
	w, _ := ctx.Value(worldKey{}).(*World)
	c.mu.Lock()
	defer c.mu.Unlock()
	var rec *scenarioRecord
	for _, id := range c.order {
		if c.byID[id].world == w {
			rec = c.byID[id]
		}
	}
	if rec == nil {
		return
	}
	s := reports.Step{Text: st.Text, Status: status.String(), Precondition: st.Type == messages.PickleStepType_CONTEXT}
	if err != nil && !errors.Is(err, godog.ErrSkip) {
		s.Error = err.Error()
		var b *blockedError
		if errors.As(err, &b) {
			s.BlockedBy = b.by
		}
	}
	if ctx.Err() != nil {
		rec.interrupted = true // the run was stopped while this scenario ran
	}
	rec.Steps = append(rec.Steps, s)
}

func (c *collector) end(scn *godog.Scenario) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rec := c.byID[scn.Id]; rec != nil {
		rec.Duration = time.Since(rec.start)
	}
}

// scenarios returns the results in execution order with their final status.
func (c *collector) scenarios() []reports.Scenario {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []reports.Scenario
	for _, id := range c.order {
		rec := c.byID[id]
		s := rec.Scenario
		s.Unsupported = rec.world.unsupported
		s.Evidence = append([]string{}, rec.world.evidence...)
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
		case rec.world.cut:
			s.Status, s.NotRun = reports.NotRun, "the run was interrupted before it started"
		case s.Status == reports.Pass && len(s.Steps) == 0:
			s.Status = reports.Fail
			s.Failure = "no step ran"
		case s.Status == reports.Pass && !ranOne:
			// Every step skipped and nothing said why: nothing was tested.
			s.Status, s.NotRun = reports.NotRun, "no step ran"
		}
		if rec.interrupted && s.Status != reports.Pass {
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

func featureName(uri string) string {
	uri = uri[strings.LastIndex(uri, "/")+1:]
	return strings.TrimSuffix(uri, ".feature")
}

// blockedError marks a failure of something another requirement judges: a login refused
// (GW-AUTH-01), a receipt that never came (GW-STAT-02). The scenario is then BLOCKED by that
// requirement, unless it passes on this target: then the failure is the scenario's own.
type blockedError struct {
	by  string
	err error
}

func (e *blockedError) Error() string { return e.err.Error() }
func (e *blockedError) Unwrap() error { return e.err }

func blockedBy(req string, err error) error {
	if err == nil || errors.Is(err, errUnsupported) {
		return err
	}
	return &blockedError{by: req, err: err}
}

// Requirements that judge the preconditions other scenarios rely on.
const (
	reqLogin    = "GW-AUTH-01" // the certificate and its password log in
	reqReceipts = "GW-STAT-02" // an accepted file gets receipts 1, then 2 (and 3)
)
