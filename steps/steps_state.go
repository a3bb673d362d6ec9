package steps

import (
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// stateSteps put the target into a state through its control API: time, the backend. Both
// suites (gateway and client certification) use them; they are registered once here.
type stateSteps struct{ *World }

func (x *stateSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^(\d+) (minute|minutes|hour|hours|day|days) pass(?:es)?$`, x.timePasses)
	sc.Step(`^the backend (is down|comes back)$`, x.backendDownOrBack)
	sc.Step(`^the backend rejects files in "([^"]*)" with "([^"]*)"$`, x.backendRejects)
}

func (x *stateSteps) timePasses(n int, unit string) error {
	d := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(unit, "s")]
	return x.advance(time.Duration(n) * d)
}

func (x *stateSteps) backendDownOrBack(state string) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	return x.stateErr(st.SetBackendUp(x.ctx, state == "comes back"))
}

func (x *stateSteps) backendRejects(service, code string) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	return x.stateErr(st.RejectFiles(x.ctx, service, code))
}

// securitySteps: the backend's replies and the central security system (gateway suite).
type securitySteps struct {
	*World
	roles map[string][]string // roles set in this scenario, by identity
}

func (x *securitySteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^the backend answers files in "([^"]*)" with a reply file$`, x.backendReplies)
	sc.Step(`^the security system (grants "([^"]*)" the role|takes the role "([^"]*)" from) "([^"]*)"$`, x.roleChanges)
	sc.Step(`^the security system (is unreachable|becomes reachable)$`, x.securityReachable)
}

func (x *securitySteps) backendReplies(service string) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	return x.stateErr(st.ReplyFiles(x.ctx, service))
}

func (x *securitySteps) roleChanges(phrase, who1, role1, last string) error {
	who, role := who1, last
	if who == "" {
		who, role = last, role1
	}
	return x.changeRole(who, role, strings.HasPrefix(phrase, "grants"))
}

func (x *securitySteps) securityReachable(state string) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	return x.stateErr(st.SetSecurityReachable(x.ctx, state == "becomes reachable"))
}

func (x *securitySteps) changeRole(who, role string, grant bool) error {
	st, err := x.targetState()
	if err != nil {
		return err
	}
	_, id, err := x.options(who)
	if err != nil {
		return err
	}
	roles, ok := x.roles[who]
	if !ok {
		roles = slices.Clone(id.Folders)
	}
	if grant && !slices.Contains(roles, role) {
		roles = append(roles, role)
	}
	if !grant {
		roles = slices.DeleteFunc(roles, func(r string) bool { return r == role })
	}
	x.roles[who] = roles
	return x.stateErr(st.SetRoles(x.ctx, id.Username, roles))
}
