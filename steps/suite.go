// Package steps holds the Go step definitions of the conformance suite in ../features (the
// gateway) and ../features/client (client certification). Steps reach the gateway only over
// the network: FTPS (package ftpsclient) and, for scenarios tagged @needs-control, the
// target's state (package target: the control API's typed client or a state adapter). They
// never import the simulator. The certification engine that runs them is package certify.
package steps

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/target"
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
	profile *target.Profile
	api     *control.Client // the simulator's control API, if the target has one
	state   target.State    // how the target is put into states: the control API or a state adapter
	virtual bool            // the target's clock is virtual
	runID   string          // makes this run's file names unique
	counter atomic.Int64
	adapter *target.Adapter // set for client certification
}

// NewSuite prepares a suite for a target; it asks the control API (if any) for its clock.
func NewSuite(ctx context.Context, p *target.Profile) (*Suite, error) {
	t, err := target.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	return For(t), nil
}

// For binds the steps to an opened target.
func For(t *target.Target) *Suite {
	return &Suite{profile: t.Profile, api: t.API, state: t.State, virtual: t.Virtual, runID: randomLetters(8)}
}

// ForClient binds the client-certification steps to the simulator a client adapter talks
// to; it needs the simulator's control API.
func ForClient(t *target.Target, a target.Adapter) (*Suite, error) {
	if t.API == nil {
		return nil, errors.New("client certification needs the simulator's control API")
	}
	if a.Identity == "" {
		a.Identity = "moces"
	}
	if a.Timeout == 0 {
		a.Timeout = 60 * time.Second
	}
	s := For(t)
	s.adapter = &a
	return s, nil
}

// Gateway binds the gateway steps to an opened target: the binder the certification engine
// takes (certify.Bind(steps.Gateway)).
func Gateway(t *target.Target) (func(*godog.ScenarioContext) *World, error) {
	return For(t).Register, nil
}

// Client binds the client-certification steps, driving the client through its adapter, to
// the simulator the client talks to (certify.Bind(steps.Client(adapter))).
func Client(a target.Adapter) func(*target.Target) (func(*godog.ScenarioContext) *World, error) {
	return func(t *target.Target) (func(*godog.ScenarioContext) *World, error) {
		s, err := ForClient(t, a)
		if err != nil {
			return nil, err
		}
		return s.RegisterClient, nil
	}
}

// Profile is the target the suite certifies.
func (s *Suite) Profile() *Profile { return s.profile }

// Profile is the target profile (package target), named here for the step library's users.
type Profile = target.Profile

func (s *Suite) next() int64 { return s.counter.Add(1) }

// InitializeScenario is a godog ScenarioInitializer for gateway certification: ftpsgw's
// hooks and every gateway step.
func (s *Suite) InitializeScenario(sc *godog.ScenarioContext) { s.Register(sc) }

// Register adds ftpsgw's gateway hooks and steps to one scenario and returns the scenario's
// World, which the caller's own steps share (also reachable as WorldFrom(ctx)). The hooks
// give the scenario a fresh World and reset a controllable target around @needs-control
// scenarios. The World is the scenario's evidence for the certification engine.
func (s *Suite) Register(sc *godog.ScenarioContext) *World {
	w := newWorld(s)
	sc.Before(func(ctx context.Context, scn *godog.Scenario) (context.Context, error) {
		ctx = w.begin(ctx)
		if ctx.Err() != nil {
			return ctx, godog.ErrSkip // the run was interrupted: this scenario does not start
		}
		if hasTag(scn, "@needs-control") {
			st, err := w.targetState()
			if err != nil {
				return ctx, err
			}
			if !s.profile.MayReset() {
				return ctx, w.unsupportedf("the profile does not let the suite reset the target (reset: false), and this scenario changes its state")
			}
			if err := st.Reset(ctx); errors.Is(err, target.ErrStateUnsupported) {
				return ctx, w.unsupportedf("resetting the target: %v", err)
			} else if err != nil {
				return ctx, fmt.Errorf("resetting the target: %w", err)
			}
		}
		return ctx, nil
	})
	sc.After(func(ctx context.Context, scn *godog.Scenario, err error) (context.Context, error) {
		w.close()
		if s.state != nil && hasTag(scn, "@needs-control") && s.profile.MayReset() {
			st, _ := w.targetState()
			// Leave no outage or changed role behind for the next scenario.
			if rerr := st.Reset(context.Background()); rerr != nil && !errors.Is(rerr, target.ErrStateUnsupported) {
				return ctx, fmt.Errorf("resetting the target after the scenario: %w", rerr)
			}
		}
		return ctx, nil
	})
	for _, r := range []interface{ register(*godog.ScenarioContext) }{
		&tlsSteps{World: w}, &authSteps{World: w}, &uploadSteps{World: w}, &folderSteps{World: w}, &stateSteps{World: w}, &securitySteps{World: w, roles: map[string][]string{}},
		&receiptSteps{World: w}, &networkSteps{World: w}, &deleteSteps{World: w}, &fixedSteps{World: w},
	} {
		r.register(sc)
	}
	return w
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
