package certify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
)

// VerdictInput is what a requirement's verdict is computed from.
type VerdictInput struct {
	Catalogue []catalogue.Requirement
	// Planned is every scenario of the suite, Selected those the run's tags selected.
	Planned, Selected []catalogue.Scenario
	Scenarios         []reports.Scenario // what ran (and what was cut), in run order
	Strict            bool
	Scope             []catalogue.ID // empty: every requirement
}

// Verdicts computes each requirement's status (reports.Status documents them): PASS only
// when every scenario of it ran and passed on this target. A scenario BLOCKED by a
// requirement that passes here was not blocked: its failure is its own (FAIL). Assumed
// requirements are SHOULD unless strict. It may turn BLOCKED scenarios into FAIL in place.
func Verdicts(in VerdictInput) []reports.Requirement {
	planned, selected := countByRequirement(in.Planned), countByRequirement(in.Selected)
	reqs := computeVerdicts(in, planned, selected)
	// A blocker that passes did not block: those failures are the scenarios' own. Repeat
	// until nothing changes (a chain of blockers resolves one link per round).
	for round := 0; round < len(in.Catalogue); round++ {
		status := map[catalogue.ID]reports.Status{}
		for _, r := range reqs {
			status[r.ID] = r.Status
		}
		changed := false
		for i := range in.Scenarios {
			s := &in.Scenarios[i]
			if s.Status != reports.Blocked || s.BlockedBy == "" {
				continue
			}
			if status[s.BlockedBy] == reports.Pass || slices.Contains(s.Requirements(), s.BlockedBy) {
				s.Status, s.BlockedBy, changed = reports.Fail, "", true
			}
		}
		if !changed {
			break
		}
		reqs = computeVerdicts(in, planned, selected)
	}
	return reqs
}

func computeVerdicts(in VerdictInput, planned, selected map[catalogue.ID]int) []reports.Requirement {
	var out []reports.Requirement
	for _, r := range in.Catalogue {
		req := reports.Requirement{Requirement: r, Effective: r.Level, Status: reports.NotRun}
		if r.Basis == "assumed" {
			req.Effective = "SHOULD"
			if in.Strict {
				req.Effective = "MUST"
			}
		}
		var pass, fail, blocked, unsupported, cut, lost int
		var why []string
		for i, s := range in.Scenarios {
			if !s.Has(r.ID.Tag()) {
				continue
			}
			req.Scenarios = append(req.Scenarios, i)
			switch s.Status {
			case reports.Pass:
				pass++
			case reports.Fail:
				fail++
			case reports.Blocked:
				blocked++
				by := s.BlockedBy
				if by == "" {
					by = "a precondition" // a Given step that no requirement judges
				}
				if !slices.Contains(req.BlockedBy, by) {
					req.BlockedBy = append(req.BlockedBy, by)
				}
			case reports.Unsupported:
				unsupported++
				why = append(why, "unsupported: "+s.Name+" ("+s.Unsupported+")")
			case reports.NotRun:
				if strings.Contains(s.NotRun, "the target stopped answering") {
					lost++
				} else {
					cut++
				}
			}
		}
		notSelected := planned[r.ID] - selected[r.ID]
		if cut > 0 {
			why = append(why, fmt.Sprintf("%d scenario(s) cut by the interrupt", cut))
		}
		if lost > 0 {
			why = append(why, fmt.Sprintf("%d scenario(s) not reached: the target stopped answering", lost))
		}
		if notSelected > 0 {
			why = append(why, fmt.Sprintf("%d of %d scenario(s) not selected by --tags", notSelected, planned[r.ID]))
		}
		switch {
		case len(in.Scope) > 0 && !slices.Contains(in.Scope, r.ID):
			req.Status, req.Reason = reports.OutOfScope, "not in the profile's scope"
		case fail > 0 && req.Effective == "MUST":
			req.Status = reports.Fail
		case fail > 0:
			req.Status = reports.Warn
		case blocked > 0:
			req.Status = reports.Blocked
			req.Reason = "blocked by " + joinIDs(req.BlockedBy)
		case pass > 0 && pass == planned[r.ID]:
			req.Status = reports.Pass
		case pass > 0:
			req.Status, req.Reason = reports.Partial, fmt.Sprintf("%d of %d scenario(s) passed; %s", pass, planned[r.ID], strings.Join(why, "; "))
		case unsupported > 0:
			req.Status, req.Reason = reports.Unsupported, strings.Join(why, "; ")
		default:
			req.Status, req.Reason = reports.NotRun, strings.Join(why, "; ")
		}
		out = append(out, req)
	}
	return out
}

func joinIDs(ids []catalogue.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}
