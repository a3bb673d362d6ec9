// Package reports turns a certification run into what CI gates on and people read: JUnit XML
// (one test case per scenario, grouped by requirement), and one self-contained HTML
// conformance report. The cucumber JSON report is godog's own formatter.
package reports

import "time"

// Status of a requirement or scenario.
type Status string

// Statuses. WARN is a failed SHOULD requirement; UNSUPPORTED means the target cannot be put
// into the state a scenario needs (no control API, real clock, missing identity): never a
// failure and never a pass. NOT RUN: filtered out by tags.
const (
	Pass        Status = "PASS"
	Fail        Status = "FAIL"
	Warn        Status = "WARN"
	Unsupported Status = "UNSUPPORTED"
	NotRun      Status = "NOT RUN"
)

// Run is one certification run.
type Run struct {
	Kind         string // "gateway" or "client"
	Suite        string // ftpsgw version
	FeaturesHash string // SHA-256 over the feature files and the catalogue
	Started      time.Time
	Duration     time.Duration
	Target       Target
	Strict       bool
	Tags         string
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
	ID        string
	Title     string
	Level     string // MUST or SHOULD, as catalogued
	Effective string // MUST or SHOULD for this run (assumed ones are SHOULD unless strict)
	Basis     string // documented or assumed
	Source    string
	Danish    string
	English   string
	Status    Status
	Scenarios []int // indexes into Run.Scenarios
}

// Scenario is one executed (or skipped) scenario.
type Scenario struct {
	Feature     string
	Name        string
	Tags        []string
	Status      Status // Pass, Fail, Unsupported
	Duration    time.Duration
	Steps       []Step
	Failure     string // the failing step's message: expected vs seen
	Unsupported string // why the target could not run it
	Evidence    []string
}

// Step is one executed step.
type Step struct {
	Text   string
	Status string // passed, failed, skipped, undefined, pending, ambiguous
	Error  string
}

// Verdict is PASS when every requirement that is MUST for this run passed.
func (r *Run) Verdict() Status {
	for _, req := range r.Requirements {
		if req.Effective == "MUST" && req.Status != Pass && req.Status != NotRun {
			return Fail
		}
	}
	return Pass
}

// Count returns how many requirements have each status.
func (r *Run) Count() map[Status]int {
	out := map[Status]int{}
	for _, req := range r.Requirements {
		out[req.Status]++
	}
	return out
}
