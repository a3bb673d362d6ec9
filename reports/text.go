package reports

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteSummary prints the per-requirement verdicts, the failures with expected vs seen, what
// was not tested and why, the totals and the wall time: the last thing a person reads.
func WriteSummary(w io.Writer, r *Run) {
	fmt.Fprintf(w, "\n%s certification of %s (%s)\n", titleCase(r.Kind), r.Target.Name, r.Target.Address)
	for _, req := range r.Requirements {
		note := ""
		if req.Basis == "assumed" {
			note = " [assumed]"
		}
		fmt.Fprintf(w, "  %-13s %-10s %-6s %s%s\n", req.Status, req.ID, req.Effective, req.Title, note)
		if req.Status == Pass || req.Status == OutOfScope {
			continue
		}
		if req.Reason != "" && req.Status != Fail && req.Status != Warn {
			fmt.Fprintf(w, "      %s\n", req.Reason)
		}
		for _, i := range req.Scenarios {
			s := r.Scenarios[i]
			switch s.Status {
			case Fail:
				fmt.Fprintf(w, "      FAILED  %s: %s\n", s.Name, s.Failure)
			case Blocked:
				by := s.BlockedBy
				if by == "" {
					by = "a failed precondition"
				}
				fmt.Fprintf(w, "      BLOCKED by %s  %s: %s\n", by, s.Name, s.Failure)
			case Unsupported:
				fmt.Fprintf(w, "      UNSUPPORTED  %s: %s\n", s.Name, s.Unsupported)
			case NotRun:
				fmt.Fprintf(w, "      NOT RUN  %s: %s\n", s.Name, s.NotRun)
			case NotExercised:
				fmt.Fprintf(w, "      NOT EXERCISED  %s: %s\n", s.Name, s.NotRun)
			}
		}
	}
	c := r.Count()
	fmt.Fprintf(w, "\nRequirements: %d pass, %d fail, %d warn, %d blocked, %d partial, %d unsupported, %d not run, %d out of scope (of %d)\n",
		c[Pass], c[Fail], c[Warn], c[Blocked], c[Partial], c[Unsupported], c[NotRun], c[OutOfScope], len(r.Requirements))
	if n := c[NotExercised]; n > 0 {
		fmt.Fprintf(w, "Not exercised by the client's traffic: %d (never a pass: the reasons say what the client would have to do)\n", n)
	}
	sc := map[Status]int{}
	for _, s := range r.Scenarios {
		sc[s.Status]++
	}
	fmt.Fprintf(w, "Scenarios: %d pass, %d fail, %d blocked, %d unsupported, %d not run (of %d)\n",
		sc[Pass], sc[Fail], sc[Blocked], sc[Unsupported], sc[NotRun], len(r.Scenarios))
	mode := "assumed requirements are SHOULD"
	if r.Strict {
		mode = "strict: assumed requirements are MUST"
	}
	if r.FailOnWarn {
		mode += "; --fail-on warn"
	}
	passed, of := r.Certified()
	if r.TargetLost != "" {
		fmt.Fprintf(w, "Not certified: the target stopped answering during the run (%s); %d of %d requirements had passed before%s\n", r.TargetLost, passed, of, r.ScopeNote())
	} else if r.Interrupted {
		// nothing is certified by a run that did not finish
		fmt.Fprintf(w, "Not certified: the run was interrupted; %d of %d requirements had passed when it stopped%s\n", passed, of, r.ScopeNote())
	} else {
		fmt.Fprintf(w, "Certified for %d of %d requirements%s\n", passed, of, r.ScopeNote())
	}
	fmt.Fprintf(w, "Verdict: %s (%s) in %s\n", r.Verdict(), mode, r.Duration.Round(time.Millisecond))
	if r.Gate != nil {
		var b strings.Builder
		writeGate(&b, r.Gate)
		io.WriteString(w, b.String())
	}
}

// ScopeNote says what the run covered when it was not the whole catalogue.
func (r *Run) ScopeNote() string {
	var parts []string
	if len(r.Scope) > 0 {
		parts = append(parts, fmt.Sprintf("profile scope: %d requirements", len(r.Scope)))
	}
	if r.Tags != "" {
		parts = append(parts, fmt.Sprintf("selected by --tags %q", r.Tags))
	}
	if n := r.Count()[NotRun] + r.Count()[OutOfScope]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d not covered", n, len(r.Requirements)))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func titleCase(s string) string {
	if s == "" {
		return "Gateway"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
