package steps

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
)

// UsageError is a mistake in how the harness was called (a tag expression that does not
// parse or selects nothing, a bad profile): the CLI exits 2 before anything runs.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// PlannedScenario is one scenario the suite holds: an example row of an outline counts as
// one, as godog runs it.
type PlannedScenario struct {
	Feature string
	Name    string
	Tags    []string // the scenario's, its example's and its feature's
}

// Plan lists every scenario of a suite.
func Plan(fsys fs.FS) ([]PlannedScenario, error) {
	files, err := fs.Glob(fsys, "*.feature")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []PlannedScenario
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		ids := &messages.Incrementing{}
		doc, err := gherkin.ParseGherkinDocument(strings.NewReader(string(raw)), ids.NewId)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, p := range gherkin.Pickles(*doc, f, ids.NewId) {
			ps := PlannedScenario{Feature: featureName(f), Name: p.Name}
			for _, t := range p.Tags {
				ps.Tags = append(ps.Tags, t.Name)
			}
			out = append(out, ps)
		}
	}
	return out, nil
}

// Select returns the scenarios a tag expression selects. A selection that does not parse,
// or selects nothing, is a UsageError: a run that would test nothing never starts.
func Select(plan []PlannedScenario, tags string) (*TagExpr, []PlannedScenario, error) {
	expr, err := ParseTagExpr(tags)
	if err != nil {
		return nil, nil, &UsageError{Msg: err.Error() + ` (examples: "@GW-TLS-01", "@GW-TLS-01 or @GW-AUTH-02", "not @needs-control")`}
	}
	var selected []PlannedScenario
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
func countByRequirement(list []PlannedScenario) map[string]int {
	out := map[string]int{}
	for _, s := range list {
		for _, t := range s.Tags {
			if id, ok := requirementTag(t); ok {
				out[id]++
			}
		}
	}
	return out
}

// requirementsOf lists the requirement ids among a scenario's tags.
func requirementsOf(tags []string) []string {
	var out []string
	for _, t := range tags {
		if id, ok := requirementTag(t); ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
