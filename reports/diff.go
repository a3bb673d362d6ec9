package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
)

// Diff is what changed from one run's results (A) to another's (B), requirement by
// requirement and scenario by scenario. A run is worse when a requirement's status in B is
// worse than in A (a requirement A did not hold counts as PASS there).
type Diff struct {
	A, B         string
	Requirements []RequirementDiff
}

// RequirementDiff is one requirement whose status or scenarios changed ("" = not in that run).
type RequirementDiff struct {
	ID        catalogue.ID
	From, To  Status
	Scenarios []ScenarioDiff
}

// ScenarioDiff is one scenario whose status changed ("" = not in that run).
type ScenarioDiff struct {
	Feature, Name string
	From, To      Status
}

// Worse reports whether B is worse than A in any requirement.
func (d Diff) Worse() bool {
	return slices.ContainsFunc(d.Requirements, func(r RequirementDiff) bool { return r.worse() })
}

func (r RequirementDiff) worse() bool {
	from := r.From
	if from == "" {
		from = Pass
	}
	return rank(r.To) > rank(from) && rank(r.To) > 0
}

// DiffResults compares two results files; aName and bName label them.
func DiffResults(aName string, a *Results, bName string, b *Results) Diff {
	d := Diff{A: aName, B: bName}
	inA := map[catalogue.ID]ResultRequirement{}
	for _, r := range a.Requirements {
		inA[r.ID] = r
	}
	var ids []catalogue.ID
	inB := map[catalogue.ID]ResultRequirement{}
	for _, r := range b.Requirements {
		inB[r.ID] = r
		ids = append(ids, r.ID)
	}
	for _, r := range a.Requirements {
		if _, ok := inB[r.ID]; !ok {
			ids = append(ids, r.ID)
		}
	}
	for _, id := range ids {
		ra, rb := inA[id], inB[id]
		rd := RequirementDiff{ID: id, From: ra.Status, To: rb.Status, Scenarios: diffScenarios(ra.Scenarios, rb.Scenarios)}
		if rd.From != rd.To || len(rd.Scenarios) > 0 {
			d.Requirements = append(d.Requirements, rd)
		}
	}
	return d
}

func diffScenarios(a, b []ResultScenario) []ScenarioDiff {
	key := func(s ResultScenario) string { return s.Feature + "\x00" + s.Name }
	was := map[string]Status{}
	for _, s := range a {
		was[key(s)] = s.Status
	}
	var out []ScenarioDiff
	seen := map[string]bool{}
	for _, s := range b {
		seen[key(s)] = true
		if from := was[key(s)]; from != s.Status {
			out = append(out, ScenarioDiff{Feature: s.Feature, Name: s.Name, From: from, To: s.Status})
		}
	}
	for _, s := range a {
		if !seen[key(s)] {
			out = append(out, ScenarioDiff{Feature: s.Feature, Name: s.Name, From: s.Status})
		}
	}
	return out
}

func orNone(s Status) string {
	if s == "" {
		return "(absent)"
	}
	return string(s)
}

// WriteText prints the diff for a terminal.
func (d Diff) WriteText(w io.Writer) {
	if len(d.Requirements) == 0 {
		fmt.Fprintf(w, "no change from %s to %s\n", d.A, d.B)
		return
	}
	fmt.Fprintf(w, "from %s to %s:\n", d.A, d.B)
	for _, r := range d.Requirements {
		mark := " "
		if r.worse() {
			mark = "!"
		}
		fmt.Fprintf(w, "%s %-10s %s -> %s\n", mark, r.ID, orNone(r.From), orNone(r.To))
		for _, s := range r.Scenarios {
			fmt.Fprintf(w, "      %s: %s: %s -> %s\n", s.Feature, s.Name, orNone(s.From), orNone(s.To))
		}
	}
	if d.Worse() {
		fmt.Fprintln(w, "worse: at least one requirement (marked !) is worse")
	}
}

// WriteMarkdown prints the diff for a merge-request comment.
func (d Diff) WriteMarkdown(w io.Writer) {
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	fmt.Fprintf(w, "### ftpsgw: %s → %s\n\n", esc.Replace(d.A), esc.Replace(d.B))
	if len(d.Requirements) == 0 {
		fmt.Fprintln(w, "No change.")
		return
	}
	if d.Worse() {
		fmt.Fprintln(w, "**Worse.** ")
	}
	fmt.Fprintln(w, "| | Requirement | Before | After | Scenarios changed |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range d.Requirements {
		mark := ""
		if r.worse() {
			mark = "❌"
		} else if rank(r.To) < rank(r.From) {
			mark = "✅"
		}
		var sc []string
		for _, s := range r.Scenarios {
			sc = append(sc, fmt.Sprintf("%s: %s → %s", esc.Replace(s.Name), orNone(s.From), orNone(s.To)))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", mark, r.ID, orNone(r.From), orNone(r.To), strings.Join(sc, "<br>"))
	}
}
