package reports

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteSummary prints the per-requirement verdicts, the failures with expected vs seen, the
// totals and the wall time: the last thing a person reads after a run.
func WriteSummary(w io.Writer, r *Run) {
	fmt.Fprintf(w, "\n%s certification of %s (%s)\n", titleCase(r.Kind), r.Target.Name, r.Target.Address)
	for _, req := range r.Requirements {
		note := ""
		if req.Basis == "assumed" {
			note = " [assumed]"
		}
		fmt.Fprintf(w, "  %-11s %-10s %-6s %s%s\n", req.Status, req.ID, req.Effective, req.Title, note)
		if req.Status == Fail || req.Status == Warn || req.Status == Unsupported {
			for _, i := range req.Scenarios {
				s := r.Scenarios[i]
				switch s.Status {
				case Fail:
					fmt.Fprintf(w, "      FAILED  %s: %s\n", s.Name, s.Failure)
				case Unsupported:
					fmt.Fprintf(w, "      UNSUPPORTED  %s: %s\n", s.Name, s.Unsupported)
				}
			}
		}
	}
	c := r.Count()
	fmt.Fprintf(w, "\nRequirements: %d passed, %d failed, %d warnings, %d unsupported, %d not run (of %d)\n",
		c[Pass], c[Fail], c[Warn], c[Unsupported], c[NotRun], len(r.Requirements))
	var sp, sf, su int
	for _, s := range r.Scenarios {
		switch s.Status {
		case Pass:
			sp++
		case Fail:
			sf++
		case Unsupported:
			su++
		}
	}
	fmt.Fprintf(w, "Scenarios: %d passed, %d failed, %d unsupported\n", sp, sf, su)
	mode := "assumed requirements are SHOULD"
	if r.Strict {
		mode = "strict: assumed requirements are MUST"
	}
	fmt.Fprintf(w, "Verdict: %s (%s) in %s\n", r.Verdict(), mode, r.Duration.Round(time.Millisecond))
}

func titleCase(s string) string {
	if s == "" {
		return "Gateway"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
