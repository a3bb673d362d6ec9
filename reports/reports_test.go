package reports

import (
	"bytes"
	"context"
	"encoding/xml"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
)

func sampleRun() *Run {
	return &Run{
		Kind: "gateway", Suite: "test", FeaturesHash: strings.Repeat("ab", 32), Started: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		Duration: 1500 * time.Millisecond, Target: Target{Name: "sample <gateway>", Address: "127.0.0.1:6381", Mode: "explicit"},
		Requirements: []Requirement{
			{Requirement: catalogue.Requirement{ID: "GW-TLS-01", Title: "TLS 1.2 only", Level: "MUST", Basis: "documented", Source: "seed",
				Danish: "FPTS-protokol understøtter kun TLS 1.2", English: "TLS 1.2 only."}, Effective: "MUST", Status: Fail, Scenarios: []int{0, 1}},
			{Requirement: catalogue.Requirement{ID: "GW-TLS-04", Title: "Resumption", Level: "SHOULD", Basis: "assumed", Source: "docs/GATEWAY.md", English: "Resume."}, Effective: "SHOULD", Status: Warn, Scenarios: []int{2}},
			{Requirement: catalogue.Requirement{ID: "GW-BACK-01", Title: "Outage", Level: "MUST", Basis: "documented", Source: "seed", English: "Outage."}, Effective: "MUST", Status: Unsupported, Scenarios: []int{3}},
			{Requirement: catalogue.Requirement{ID: "GW-AUTH-01", Title: "Login", Level: "MUST", Basis: "documented", Source: "seed", English: "Login."}, Effective: "MUST", Status: Pass, Scenarios: []int{4}},
		},
		Scenarios: []Scenario{
			{Scenario: catalogue.Scenario{Feature: "tls", Name: "TLS 1.3 is refused", Tags: []string{"@GW-TLS-01"}}, Status: Fail, Duration: -5 * time.Millisecond,
				Failure: "expected the handshake to fail; saw it succeeded: TLS1.3", Steps: []Step{{Text: "the TLS handshake is refused", Status: "failed", Error: "expected …"}},
				Evidence: []string{"TLS 1.3 offered: TLS1.3 TLS_AES_128_GCM_SHA256 <nil>"}},
			{Scenario: catalogue.Scenario{Feature: "tls", Name: "TLS 1.2 is accepted", Tags: []string{"@GW-TLS-01"}}, Status: Pass, Duration: time.Millisecond},
			{Scenario: catalogue.Scenario{Feature: "tls", Name: "resumption", Tags: []string{"@GW-TLS-04"}}, Status: Fail, Failure: "full handshake"},
			{Scenario: catalogue.Scenario{Feature: "backend", Name: "outage", Tags: []string{"@GW-BACK-01"}}, Status: Unsupported, Unsupported: "no control API"},
			{Scenario: catalogue.Scenario{Feature: "auth", Name: "login", Tags: []string{"@GW-AUTH-01"}}, Status: Pass},
		},
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleRun()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Skipped int    `xml:"skipped,attr"`
			Time    string `xml:"time,attr"`
			Cases   []struct {
				Classname string `xml:"classname,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped   *struct{} `xml:"skipped"`
				SystemOut string    `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if doc.Tests != 5 || doc.Failures != 1 || doc.Suites[2].Skipped != 1 {
		t.Errorf("totals: %d tests, %d failures, %d skipped in the third suite", doc.Tests, doc.Failures, doc.Suites[2].Skipped)
	}
	first := doc.Suites[0].Cases[0]
	if first.Time != "0.000" || first.Classname != "GW-TLS-01.tls" || first.Failure == nil ||
		!strings.Contains(first.Failure.Body, "saw it succeeded") || !strings.Contains(first.Failure.Body, "Evidence") {
		t.Errorf("failed MUST case: %+v", first)
	}
	warn := doc.Suites[1].Cases[0]
	if warn.Failure != nil || !strings.Contains(warn.SystemOut, "WARNING") {
		t.Errorf("a failed SHOULD must not fail CI: %+v", warn)
	}
}

func TestSummary(t *testing.T) {
	var buf bytes.Buffer
	WriteSummary(&buf, sampleRun())
	out := buf.String()
	for _, want := range []string{"FAIL          GW-TLS-01", "FAILED  TLS 1.3 is refused: expected", "UNSUPPORTED  outage: no control API",
		"1 pass, 1 fail, 1 warn, 0 blocked, 0 partial, 1 unsupported", "Verdict: FAIL", "Certified for 1 of 4 requirements"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "in 1.5s") {
		t.Errorf("the verdict and wall time must come last:\n%s", out)
	}
}

// TestHTMLRendersInChromium renders the report in headless Chromium and checks the
// screenshot: not blank, and the FAIL verdict badge's red is on it.
func TestHTMLRendersInChromium(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sampleRun()); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if !strings.Contains(html, "sample &lt;gateway&gt;") || strings.Contains(html, "sample <gateway>") {
		t.Error("target name not escaped")
	}
	var browser string
	for _, b := range []string{"chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
		}
	}
	if browser == "" {
		browser = tool.Need(t, "chromium", "chromium")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	os.WriteFile(page, buf.Bytes(), 0o644)
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--window-size=1280,900", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	colors := map[[3]uint32]int{}
	red := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
			if r>>8 > 180 && g>>8 < 80 && bl>>8 < 70 {
				red++
			}
		}
	}
	if len(colors) < 20 {
		t.Errorf("the screenshot looks blank: %d colours", len(colors))
	}
	if red < 200 {
		t.Errorf("the red FAIL verdict badge is not on the screenshot (%d red samples)", red)
	}
}

// allStatusesRun holds a requirement in every status a run can give.
func allStatusesRun() *Run {
	r := sampleRun()
	add := func(id string, st Status, sc Scenario) {
		sc.Tags = []string{"@" + id}
		r.Scenarios = append(r.Scenarios, sc)
		r.Requirements = append(r.Requirements, Requirement{Requirement: catalogue.Requirement{ID: catalogue.ID(id), Title: id, Level: "MUST", Basis: "documented",
			Source: "seed", English: id}, Effective: "MUST", Status: st, Reason: "reason of " + id, Scenarios: []int{len(r.Scenarios) - 1}})
	}
	add("GW-X-01", Blocked, Scenario{Scenario: catalogue.Scenario{Feature: "out", Name: "blocked one"}, Status: Blocked, BlockedBy: "GW-STAT-02", Failure: "no receipt 1"})
	add("GW-X-02", Partial, Scenario{Scenario: catalogue.Scenario{Feature: "tls", Name: "cut one"}, Status: NotRun, NotRun: "interrupted"})
	add("GW-X-03", OutOfScope, Scenario{Scenario: catalogue.Scenario{Feature: "tls", Name: "out of scope"}, Status: Pass})
	return r
}

// TestJUnitIsValidStrictJUnit validates the JUnit file against the strict schema CI
// servers use (testdata/junit-strict.xsd) with xmllint.
func TestJUnitIsValidStrictJUnit(t *testing.T) {
	tool.Need(t, "xmllint", "libxml2-utils")
	for _, run := range []*Run{sampleRun(), allStatusesRun(), {Kind: "gateway", Interrupted: true}} {
		path := filepath.Join(t.TempDir(), "junit.xml")
		var buf bytes.Buffer
		if err := WriteJUnit(&buf, run); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("xmllint", "--noout", "--schema", "testdata/junit-strict.xsd", path).CombinedOutput()
		if err != nil {
			t.Errorf("junit.xml is not strict JUnit: %v\n%s\n%s", err, out, buf.String())
		}
	}
	var buf bytes.Buffer
	WriteJUnit(&buf, allStatusesRun())
	for _, want := range []string{`<error message="BLOCKED by GW-STAT-02: no receipt 1"`, `NOT RUN: interrupted`, `OUT OF SCOPE`, `name="reason" value="reason of GW-X-02"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("junit.xml lacks %s", want)
		}
	}
}

// TestInterruptedRunCertifiesNothing: an interrupted run's summary does not say "Certified
// for", and its JUnit counts an error, so CI reading either sees a run that did not finish.
func TestInterruptedRunCertifiesNothing(t *testing.T) {
	r := sampleRun()
	for i := range r.Requirements {
		r.Requirements[i].Status = Pass
	}
	r.Interrupted = true
	var sum, junit bytes.Buffer
	WriteSummary(&sum, r)
	if strings.Contains(sum.String(), "Certified for") || !strings.Contains(sum.String(), "Not certified: the run was interrupted") {
		t.Errorf("summary of an interrupted run:\n%s", sum.String())
	}
	if err := WriteJUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Errors int `xml:"errors,attr"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil || doc.Errors < 1 || !strings.Contains(junit.String(), "INTERRUPTED") {
		t.Errorf("JUnit of an interrupted run: errors=%d %v\n%s", doc.Errors, err, junit.String())
	}
}

// TestResultsJSONFollowsItsSchema: results.json of a run reads back through ReadResults (its
// schema, verdict, digests and requirement ids checked), and a file that is not one is refused.
func TestResultsJSONFollowsItsSchema(t *testing.T) {
	r := allStatusesRun()
	r.CatalogueHash = strings.Repeat("cd", 32)
	dir := t.TempDir()
	if err := WriteFiles(dir, r); err != nil {
		t.Fatal(err)
	}
	res, err := ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Verdict != r.Verdict() || res.Run.ExitCode != r.ExitCode() || len(res.Requirements) != len(r.Requirements) ||
		res.Requirements[0].Scenarios[0].EvidenceSHA256 == "" || res.Run.Target.Name != r.Target.Name {
		t.Errorf("results: %+v", res.Run)
	}
	for name, body := range map[string]string{
		"another schema": `{"schema": "other/1", "run": {}, "requirements": []}`,
		"unknown field":  `{"schema": "ftpsgw-results/1", "surprise": 1}`,
		"not JSON":       `<xml/>`,
	} {
		p := filepath.Join(t.TempDir(), "results.json")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := ReadResults(p); err == nil {
			t.Errorf("%s: read as results", name)
		}
	}
}
