package steps

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

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
	world *World
	start time.Time
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
	s := reports.Step{Text: st.Text, Status: status.String()}
	if err != nil && !errors.Is(err, godog.ErrSkip) {
		s.Error = err.Error()
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
				if s.Status != reports.Fail {
					s.Failure = strings.TrimSpace(st.Text + ": " + firstNonEmpty(st.Error, st.Status))
				}
				s.Status = reports.Fail
			}
		}
		if s.Status == reports.Pass && s.Unsupported != "" {
			s.Status = reports.Unsupported
		}
		if s.Status == reports.Pass && len(s.Steps) == 0 {
			s.Status = reports.Fail
			s.Failure = "no step ran"
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
