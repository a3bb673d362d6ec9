package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit: one <testsuite> per requirement, one <testcase> per scenario with classname
// "<requirement>.<feature>", times never negative, failure text in the element body with
// expected vs seen and the evidence. A BLOCKED scenario is an <error> naming its blocker;
// UNSUPPORTED, NOT RUN and OUT OF SCOPE are <skipped> with their reason. A failed SHOULD is a
// pass with a system-out warning (CI gates on MUSTs), or a <failure> with --fail-on warn. The
// attributes are those of the strict schema (Jenkins xunit junit-10.xsd): no skipped on
// <testsuites>, errors on both.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Props     []junitProp `xml:"properties>property"`
	Cases     []junitCase `xml:"testcase"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func secs(d interface{ Seconds() float64 }) string {
	s := d.Seconds()
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%.3f", s)
}

// WriteJUnit writes the run as JUnit XML.
func WriteJUnit(w io.Writer, r *Run) error {
	out := junitSuites{Name: fmt.Sprintf("ftpsgw %s certification: %s: %s", r.Kind, r.Target.Name, r.Verdict()), Time: secs(r.Duration)}
	for _, req := range r.Requirements {
		if req.Status == NotRun && len(req.Scenarios) == 0 {
			continue // not selected: nothing to report
		}
		props := []junitProp{{"level", req.Effective}, {"basis", req.Basis}, {"status", string(req.Status)}, {"source", req.Source}}
		if req.Reason != "" {
			props = append(props, junitProp{"reason", req.Reason})
		}
		js := junitSuite{Name: string(req.ID) + " " + req.Title, Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"), Props: props}
		var total float64
		for _, i := range req.Scenarios {
			s := r.Scenarios[i]
			jc := junitCase{Name: s.Name, Classname: string(req.ID) + "." + s.Feature, Time: secs(s.Duration)}
			total += max(s.Duration.Seconds(), 0)
			body := scenarioText(s)
			gates := req.Effective == "MUST" || r.FailOnWarn
			switch {
			case req.Status == OutOfScope:
				jc.Skipped = &junitSkipped{Message: fmt.Sprintf("OUT OF SCOPE (the scenario's result: %s)", s.Status)}
				jc.SystemOut = body
				js.Skipped++
			case s.Status == Fail && gates:
				jc.Failure = &junitFailure{Message: s.Failure, Type: string(req.ID), Body: s.Failure + "\n\n" + body}
				js.Failures++
			case s.Status == Fail:
				jc.SystemOut = "WARNING (SHOULD requirement failed): " + s.Failure + "\n" + body
			case s.Status == Blocked:
				by := string(s.BlockedBy)
				if by == "" {
					by = "a failed precondition"
				}
				msg := "BLOCKED by " + by + ": " + s.Failure
				jc.Error = &junitFailure{Message: msg, Type: "BLOCKED", Body: msg + "\n\n" + body}
				js.Errors++
			case s.Status == Unsupported:
				jc.Skipped = &junitSkipped{Message: "UNSUPPORTED: " + s.Unsupported}
				js.Skipped++
			case s.Status == NotRun:
				jc.Skipped = &junitSkipped{Message: "NOT RUN: " + s.NotRun}
				js.Skipped++
			case s.Status == NotExercised:
				jc.Skipped = &junitSkipped{Message: "NOT EXERCISED: " + s.NotRun}
				jc.SystemOut = body
				js.Skipped++
			default:
				jc.SystemOut = body
			}
			js.Cases = append(js.Cases, jc)
			js.Tests++
		}
		js.Time = fmt.Sprintf("%.3f", total)
		out.Tests += js.Tests
		out.Failures += js.Failures
		out.Errors += js.Errors
		out.Suites = append(out.Suites, js)
	}
	if r.Interrupted || r.TargetLost != "" {
		// A run cut short certifies nothing: CI that reads only the counts must see it.
		msg := "INTERRUPTED: the run was stopped (signal or --deadline) before it ended; what had not finished is NOT RUN"
		if r.TargetLost != "" {
			msg = "ERROR: the target stopped answering during the run (" + r.TargetLost + "); what was not reached is NOT RUN"
		}
		out.Suites = append(out.Suites, junitSuite{Name: "run", Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"), Tests: 1, Errors: 1,
			Time: secs(r.Duration), Cases: []junitCase{{Name: "the certification run", Classname: "run", Time: secs(r.Duration),
				Error: &junitFailure{Message: msg, Type: string(r.Verdict()), Body: msg}}}})
		out.Tests++
		out.Errors++
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// scenarioText is a scenario's steps and evidence as plain text.
func scenarioText(s Scenario) string {
	var b strings.Builder
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "[%s] %s\n", st.Status, st.Text)
		if st.Error != "" {
			fmt.Fprintf(&b, "    %s\n", st.Error)
		}
	}
	if len(s.Evidence) > 0 {
		b.WriteString("Evidence:\n")
		for _, e := range s.Evidence {
			fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(e, "\n", "\n  "))
		}
	}
	return b.String()
}
