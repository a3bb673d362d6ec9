package steps

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Suite binds the step definitions to one target. One Suite serves a whole godog run; each
// scenario gets a World of its own.
//
// A QA team's own godog suite registers ftpsgw's steps beside its own:
//
//	suite, _ := steps.NewSuite(ctx, profile)
//	godog.TestSuite{ScenarioInitializer: func(sc *godog.ScenarioContext) {
//		w := suite.Register(sc)                          // ftpsgw's hooks and gateway steps
//		sc.Step(`^our ERP files the interest report$`, func() error {
//			// … upload with the team's own client, then:
//			return w.Uploaded("moces", "eKapital.Rente.Udlaan", name, err)
//		})
//	}}
//
// and its features mix both: "When our ERP files the interest report" (theirs), then
// `Then "moces" receives receipts 1 and 2 for it` (ftpsgw's).
type Suite struct {
	profile *Profile
	api     *control.Client // the simulator's control API, if the target has one
	state   targetState     // how the target is put into states: the control API or a state adapter
	virtual bool            // the target's clock is virtual
	runID   string          // makes this run's file names unique
	counter atomic.Int64
	results *collector
	adapter *Adapter // set for client certification
}

// NewSuite prepares a suite for a target; it asks the control API (if any) for its clock.
func NewSuite(ctx context.Context, p *Profile) (*Suite, error) {
	s := &Suite{profile: p, runID: randomLetters(8), results: newCollector()}
	if p.Control != nil {
		s.api = control.NewClient(p.Control.URL, p.Control.Token)
		s.api.Timeout = time.Duration(p.Timeouts.Operation)
		clock, err := s.api.Clock(ctx)
		if err != nil {
			return nil, fmt.Errorf("control API %s: %w", p.Control.URL, err)
		}
		s.virtual = clock.Mode == "virtual"
		s.state = controlState{api: s.api, virtual: s.virtual}
	}
	if p.State != nil {
		s.state = commandState{st: *p.State}
		s.virtual = p.State.Clock == "virtual"
	}
	return s, nil
}

// Profile is the target the suite certifies.
func (s *Suite) Profile() *Profile { return s.profile }

func (s *Suite) next() int64 { return s.counter.Add(1) }

// InitializeScenario is a godog ScenarioInitializer for gateway certification: ftpsgw's
// hooks and every gateway step.
func (s *Suite) InitializeScenario(sc *godog.ScenarioContext) { s.Register(sc) }

// Register adds ftpsgw's gateway hooks and steps to one scenario and returns the scenario's
// World, which the caller's own steps share (also reachable as WorldFrom(ctx)). The hooks
// give the scenario a fresh World, reset a controllable target around @needs-control
// scenarios, and record every step for the reports.
func (s *Suite) Register(sc *godog.ScenarioContext) *World {
	w := newWorld(s)
	sc.Before(func(ctx context.Context, scn *godog.Scenario) (context.Context, error) {
		ctx = w.begin(ctx, scn)
		if ctx.Err() != nil {
			w.cut = true
			return ctx, godog.ErrSkip // the run was interrupted: this scenario does not start
		}
		if hasTag(scn, "@needs-control") {
			st, err := w.targetState()
			if err != nil {
				return ctx, err
			}
			if !s.profile.mayReset() {
				return ctx, w.unsupportedf("the profile does not let the suite reset the target (reset: false), and this scenario changes its state")
			}
			if err := st.Reset(ctx); errors.Is(err, errStateUnsupported) {
				return ctx, w.unsupportedf("resetting the target: %v", err)
			} else if err != nil {
				return ctx, fmt.Errorf("resetting the target: %w", err)
			}
		}
		return ctx, nil
	})
	sc.After(func(ctx context.Context, scn *godog.Scenario, err error) (context.Context, error) {
		w.close()
		if s.state != nil && hasTag(scn, "@needs-control") && s.profile.mayReset() {
			st, _ := w.targetState()
			// Leave no outage or changed role behind for the next scenario.
			if rerr := st.Reset(context.Background()); rerr != nil && !errors.Is(rerr, errStateUnsupported) {
				return ctx, fmt.Errorf("resetting the target after the scenario: %w", rerr)
			}
		}
		s.results.end(scn)
		return ctx, nil
	})
	s.recordSteps(sc)
	for _, r := range []interface{ register(*godog.ScenarioContext) }{
		tlsSteps{w}, authSteps{w}, uploadSteps{w}, folderSteps{w}, stateSteps{w}, securitySteps{w},
		receiptSteps{w}, networkSteps{w}, deleteSteps{w}, fixedSteps{w},
	} {
		r.register(sc)
	}
	return w
}

// recordSteps hands every finished step to the results collector.
func (s *Suite) recordSteps(sc *godog.ScenarioContext) {
	sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
		s.results.step(ctx, st, status, err)
		return ctx, nil
	})
}

type worldKey struct{}

// WorldFrom returns the scenario's World from a step's context (nil outside a scenario).
func WorldFrom(ctx context.Context) *World {
	w, _ := ctx.Value(worldKey{}).(*World)
	return w
}

func hasTag(scn *godog.Scenario, tag string) bool {
	for _, t := range scn.Tags {
		if t.Name == tag {
			return true
		}
	}
	return false
}
