package certify

import (
	"fmt"
	"strings"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
)

// UsageError is a mistake in how the harness was called (a tag expression that does not
// parse or selects nothing, a bad profile): the CLI exits 2 before anything runs.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Select returns the scenarios a tag expression selects. A selection that does not parse,
// or selects nothing, is a UsageError: a run that would test nothing never starts.
func Select(plan []catalogue.Scenario, tags string) (*TagExpr, []catalogue.Scenario, error) {
	expr, err := ParseTagExpr(tags)
	if err != nil {
		return nil, nil, &UsageError{Msg: err.Error() + ` (examples: "@GW-TLS-01", "@GW-TLS-01 or @GW-AUTH-02", "not @needs-control")`}
	}
	var selected []catalogue.Scenario
	known := map[string]bool{}
	for _, s := range plan {
		for _, t := range s.Tags {
			known[t] = true
		}
		if expr.Match(s.Tags) {
			selected = append(selected, s)
		}
	}
	if len(selected) == 0 {
		var unknown []string
		for _, t := range expr.Tags() {
			if !known[t] {
				unknown = append(unknown, t)
			}
		}
		msg := fmt.Sprintf("--tags %q selects no scenario of the suite's %d", tags, len(plan))
		if len(unknown) > 0 {
			msg += fmt.Sprintf("; no scenario carries %s", strings.Join(unknown, ", "))
		}
		return nil, nil, &UsageError{Msg: msg}
	}
	return expr, selected, nil
}

// countByRequirement counts scenarios per requirement id.
func countByRequirement(list []catalogue.Scenario) map[catalogue.ID]int {
	out := map[catalogue.ID]int{}
	for _, s := range list {
		for _, id := range s.Requirements() {
			out[id]++
		}
	}
	return out
}
