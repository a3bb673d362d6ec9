package reports

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
)

// Waiver excuses one requirement's known failure until it expires. A waiver that expired, or
// that excused nothing (the requirement passed, or was not run), fails the run: waivers do
// not rot.
type Waiver struct {
	ID      catalogue.ID `yaml:"id" json:"id"`
	Reason  string       `yaml:"reason" json:"reason"`
	Owner   string       `yaml:"owner" json:"owner"`
	Expires string       `yaml:"expires" json:"expires"` // YYYY-MM-DD: the waiver holds through that day (UTC)
}

// LoadWaivers reads a waivers file:
//
//	waivers:
//	  - {id: GW-TLS-04, reason: "…", owner: "team@example", expires: 2027-03-31}
func LoadWaivers(path string) ([]Waiver, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Waivers []Waiver `yaml:"waivers"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	seen := map[catalogue.ID]bool{}
	for i, w := range doc.Waivers {
		switch {
		case !w.ID.Valid():
			errs = append(errs, fmt.Errorf("waivers[%d]: id %q is not a requirement id", i, w.ID))
		case seen[w.ID]:
			errs = append(errs, fmt.Errorf("waivers: %s twice", w.ID))
		case strings.TrimSpace(w.Reason) == "" || strings.TrimSpace(w.Owner) == "":
			errs = append(errs, fmt.Errorf("waivers: %s needs a reason and an owner", w.ID))
		}
		if _, err := time.Parse(time.DateOnly, w.Expires); err != nil {
			errs = append(errs, fmt.Errorf("waivers: %s: expires %q is not a date YYYY-MM-DD", w.ID, w.Expires))
		}
		seen[w.ID] = true
	}
	if len(doc.Waivers) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no waiver in it (waivers: [{id, reason, owner, expires}, …])"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc.Waivers, nil
}

// expired: the waiver's last day is before today (UTC).
func (w Waiver) expired(today time.Time) bool {
	last, _ := time.Parse(time.DateOnly, w.Expires)
	return today.UTC().Truncate(24 * time.Hour).After(last)
}

// Gate is what --baseline and --waivers decided. With a baseline the run fails only on
// regressions (a requirement worse than in the baseline); without one, on any failure that
// the verdict would fail or not certify on and no waiver excuses. Either way an expired or
// an unused waiver fails it.
type Gate struct {
	Baseline     string         `json:"baseline,omitempty"`
	Regressions  []Change       `json:"regressions,omitempty"`
	Improvements []Change       `json:"improvements,omitempty"`
	Failing      []catalogue.ID `json:"failing,omitempty"`
	Waived       []Waiver       `json:"waived,omitempty"`
	Expired      []Waiver       `json:"expired,omitempty"`
	Unused       []Waiver       `json:"unused,omitempty"`
}

// Change is one requirement's status in two runs.
type Change struct {
	ID   catalogue.ID `json:"id"`
	From Status       `json:"from"`
	To   Status       `json:"to"`
}

// Failed reports whether the gate fails the run.
func (g *Gate) Failed() bool {
	return len(g.Regressions)+len(g.Failing)+len(g.Expired)+len(g.Unused) > 0
}

// rank orders statuses from good to bad; -1 for those that say nothing (not run, out of scope).
func rank(s Status) int {
	switch s {
	case Pass:
		return 0
	case Partial, Unsupported, Blocked:
		return 1
	case Warn:
		return 2
	case Fail:
		return 3
	}
	return -1
}

// ApplyGate gates a run on a baseline (nil: none) and waivers, as of today.
func ApplyGate(r *Run, baseline *Results, baselinePath string, waivers []Waiver, today time.Time) *Gate {
	g := &Gate{Baseline: baselinePath}
	waiverOf := map[catalogue.ID]Waiver{}
	for _, w := range waivers {
		waiverOf[w.ID] = w
	}
	before := map[catalogue.ID]Status{}
	if baseline != nil {
		for _, req := range baseline.Requirements {
			before[req.ID] = req.Status
		}
	}
	used := map[catalogue.ID]bool{}
	for _, req := range r.Requirements {
		now := rank(req.Status)
		if w, ok := waiverOf[req.ID]; ok {
			used[req.ID] = true
			switch {
			case w.expired(today):
				g.Expired = append(g.Expired, w)
				continue
			case now <= 0:
				g.Unused = append(g.Unused, w)
			default:
				g.Waived = append(g.Waived, w)
				continue
			}
		}
		if now < 0 {
			continue
		}
		if baseline != nil {
			was, ok := before[req.ID]
			if !ok {
				was = Pass // a requirement the baseline did not hold is held to PASS
			}
			switch {
			case now > rank(was) && now > 0:
				g.Regressions = append(g.Regressions, Change{ID: req.ID, From: was, To: req.Status})
			case now < rank(was):
				g.Improvements = append(g.Improvements, Change{ID: req.ID, From: was, To: req.Status})
			}
			continue
		}
		gates := req.Effective == "MUST" || r.FailOnWarn
		if now > 0 && (gates || req.Status == Fail) {
			g.Failing = append(g.Failing, req.ID)
		}
	}
	for _, w := range waivers {
		if !used[w.ID] {
			g.Unused = append(g.Unused, w)
		}
	}
	return g
}

// writeGate prints the gate's outcome for the summary.
func writeGate(b *strings.Builder, g *Gate) {
	title := "Gate (waivers"
	if g.Baseline != "" {
		title = "Gate (against the baseline " + g.Baseline + "; waivers"
	}
	fmt.Fprintf(b, "\n%s):\n", title)
	for _, c := range g.Regressions {
		fmt.Fprintf(b, "  REGRESSION  %-10s %s -> %s\n", c.ID, c.From, c.To)
	}
	for _, id := range g.Failing {
		fmt.Fprintf(b, "  FAILING     %-10s no waiver excuses it\n", id)
	}
	for _, w := range g.Expired {
		fmt.Fprintf(b, "  EXPIRED     %-10s waiver of %s expired on %s: %s\n", w.ID, w.Owner, w.Expires, w.Reason)
	}
	for _, w := range g.Unused {
		fmt.Fprintf(b, "  UNUSED      %-10s waiver of %s excuses nothing (it passes, or did not run): remove it\n", w.ID, w.Owner)
	}
	for _, w := range g.Waived {
		fmt.Fprintf(b, "  waived      %-10s until %s by %s: %s\n", w.ID, w.Expires, w.Owner, w.Reason)
	}
	for _, c := range g.Improvements {
		fmt.Fprintf(b, "  improved    %-10s %s -> %s\n", c.ID, c.From, c.To)
	}
	if g.Failed() {
		b.WriteString("Gate: FAIL\n")
	} else {
		b.WriteString("Gate: PASS\n")
	}
}
