// Package reports turns a certification run into what CI gates on and people read: JUnit XML
// (one test case per scenario, grouped by requirement), and one self-contained HTML
// conformance report. The cucumber JSON report is godog's own formatter.
package reports

import (
	"time"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
)

// Status of a requirement or scenario.
type Status string

// Statuses (README "Verdicts"). For a requirement:
//   - PASS: every scenario of it ran on this target and passed.
//   - FAIL: a scenario of a MUST requirement failed; WARN: one of a SHOULD requirement.
//   - BLOCKED: a scenario failed in a precondition another requirement judges (a receipt that
//     never came, a login refused), and that requirement is not PASS here: BlockedBy names it.
//   - PARTIAL: some scenarios passed, the others could not run (unsupported, not selected,
//     cut by an interrupt); Reason says which and why. Never certified.
//   - UNSUPPORTED: the target could not be put into the state any scenario needs.
//   - NOT RUN: no scenario of it ran (not selected by --tags, or the run was interrupted).
//   - OUT OF SCOPE: the profile's scope leaves it out; it does not decide the verdict.
//
// For a run: PASS (certified), FAIL, NOT CERTIFIED (nothing failed, but a MUST in scope is
// not PASS), INTERRUPTED, ERROR (the target stopped answering during the run).
const (
	Pass        Status = "PASS"
	Fail        Status = "FAIL"
	Warn        Status = "WARN"
	Blocked     Status = "BLOCKED"
	Partial     Status = "PARTIAL"
	Unsupported Status = "UNSUPPORTED"
	NotRun      Status = "NOT RUN"
	// NotExercised: a client certified by observation (certify-client --observe) did nothing
	// this requirement judges; the reason says what it would have to do. Never a pass.
	NotExercised Status = "NOT EXERCISED"
	OutOfScope   Status = "OUT OF SCOPE"
	NotCertified Status = "NOT CERTIFIED"
	Interrupted  Status = "INTERRUPTED"
	Error        Status = "ERROR"
)

// Run is one certification run.
type Run struct {
	Kind         string // "gateway" or "client"
	Suite        string // ftpsgw version
	FeaturesHash string // SHA-256 over the feature files and the catalogue
	// CatalogueHash is the SHA-256 of requirements.yaml alone.
	CatalogueHash string
	Started       time.Time
	Duration      time.Duration
	Target        Target
	Strict        bool
	Tags          string
	// Scope lists the requirements this run certifies (the profile's scope); empty: all.
	Scope []catalogue.ID
	// FailOnWarn makes a failed SHOULD (WARN) fail the run too.
	FailOnWarn bool
	// Interrupted: the run was stopped (SIGINT/SIGTERM or its deadline) before it ended;
	// what had not finished is NOT RUN.
	Interrupted bool
	// Dashboard is the address of the simulator's live dashboard (/ui/) when the target has
	// one that outlives the run; the HTML report links each scenario into it.
	Dashboard string
	// TargetLost says how the target stopped answering during the run (after its preflight);
	// the run's verdict is then ERROR and what was not reached is NOT RUN.
	TargetLost string
	// Profile is the target profile with its secrets removed (YAML), when the run had one.
	Profile string
	// Gate is the outcome of --baseline and --waivers, when given: it then decides the exit
	// code instead of the verdict (GateResult).
	Gate         *Gate
	Requirements []Requirement
	Scenarios    []Scenario
}

// Target describes what was certified.
type Target struct {
	Name        string
	Address     string
	Mode        string
	Control     bool
	Description string
}

// Requirement is one catalogue entry with its verdict.
type Requirement struct {
	catalogue.Requirement
	Effective string // MUST or SHOULD for this run (assumed ones are SHOULD unless strict)
	Status    Status
	// BlockedBy lists the requirements whose failure blocked this one (BLOCKED).
	BlockedBy []catalogue.ID
	// Reason explains a status that is not PASS or FAIL: what was not tested, and why.
	Reason    string
	Scenarios []int // indexes into Run.Scenarios
}

// Scenario is one scenario of the suite with its outcome on this run.
type Scenario struct {
	catalogue.Scenario
	Status      Status // Pass, Fail, Blocked, Unsupported, NotRun
	Duration    time.Duration
	Steps       []Step
	Failure     string // the failing step's message: expected vs seen
	Unsupported string // why the target could not run it
	// BlockedBy is the requirement that judges the precondition this scenario failed in
	// ("" when no requirement does: a precondition of its own, e.g. an upload refused).
	BlockedBy catalogue.ID
	NotRun    string // why it did not run (not selected, interrupted)
	Evidence  []string
	// Journal is the part of the target's journal the scenario wrote (after From, up to To),
	// when the target has a control API with a journal.
	Journal *JournalWindow `json:",omitempty"`
}

// JournalWindow is a range of journal sequence numbers: the events after From up to To.
type JournalWindow struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Step is one executed step.
type Step struct {
	Text   string
	Status string // passed, failed, skipped, undefined, pending, ambiguous
	Error  string
	// Precondition: a Given step (Gherkin's context): its failure blocks the scenario.
	Precondition bool
	// BlockedBy is the requirement that judges what this step needed (a receipt, a login).
	BlockedBy catalogue.ID
}

// Verdict is PASS (certified) when every requirement that is MUST for this run, in scope and
// run, passed; FAIL when one failed (a WARN too, with FailOnWarn); NOT CERTIFIED when none
// failed but one is BLOCKED, PARTIAL or UNSUPPORTED; INTERRUPTED when the run was stopped.
func (r *Run) Verdict() Status {
	if r.TargetLost != "" {
		return Error
	}
	if r.Interrupted {
		return Interrupted
	}
	verdict := Pass
	for _, req := range r.Requirements {
		gates := req.Effective == "MUST" || r.FailOnWarn // --fail-on warn gates on SHOULDs too
		switch {
		case req.Status == Fail, req.Status == Warn && r.FailOnWarn:
			return Fail
		case !gates, req.Status == Pass, req.Status == NotRun, req.Status == OutOfScope:
		default:
			verdict = NotCertified
		}
	}
	return verdict
}

// Certified counts the requirements that passed, and those the verdict speaks for (in scope
// and run): "certified for 14 of 19 requirements".
func (r *Run) Certified() (passed, of int) {
	for _, req := range r.Requirements {
		if req.Status == OutOfScope || req.Status == NotRun {
			continue
		}
		of++
		if req.Status == Pass {
			passed++
		}
	}
	return passed, of
}

// Count returns how many requirements have each status.
func (r *Run) Count() map[Status]int {
	out := map[Status]int{}
	for _, req := range r.Requirements {
		out[req.Status]++
	}
	return out
}
