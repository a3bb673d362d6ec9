package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit: one <testsuite> per requirement, one <testcase> per scenario with classname
// "<requirement>.<feature>", times never negative, failure text in the element body with
// expected vs seen and the evidence, UNSUPPORTED as <skipped>. A failed SHOULD is reported as
// passed with a system-out warning, so CI gates on MUST requirements only.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
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
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
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
	out := junitSuites{Name: "ftpsgw " + r.Kind + " certification: " + r.Target.Name, Time: secs(r.Duration)}
	for _, req := range r.Requirements {
		if req.Status == NotRun {
			continue
		}
		js := junitSuite{Name: req.ID + " " + req.Title, Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"),
			Props: []junitProp{{"level", req.Effective}, {"basis", req.Basis}, {"status", string(req.Status)}, {"source", req.Source}}}
		var total float64
		for _, i := range req.Scenarios {
			s := r.Scenarios[i]
			jc := junitCase{Name: s.Name, Classname: req.ID + "." + s.Feature, Time: secs(s.Duration)}
			total += max(s.Duration.Seconds(), 0)
			body := scenarioText(s)
			switch {
			case s.Status == Fail && req.Effective == "MUST":
				jc.Failure = &junitFailure{Message: s.Failure, Type: req.ID, Body: s.Failure + "\n\n" + body}
				js.Failures++
			case s.Status == Fail:
				jc.SystemOut = "WARNING (SHOULD requirement failed): " + s.Failure + "\n" + body
			case s.Status == Unsupported:
				jc.Skipped = &junitSkipped{Message: "UNSUPPORTED: " + s.Unsupported}
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
		out.Skipped += js.Skipped
		out.Suites = append(out.Suites, js)
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
