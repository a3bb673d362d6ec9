package steps

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/reports"
)

func TestCatalogueCoversEveryFeature(t *testing.T) {
	reqs, err := LoadCatalogue(features.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) < 19 {
		t.Fatalf("%d requirements, want at least the 19 of the issue", len(reqs))
	}
	scns, err := ParseScenarios(features.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCoverage(reqs, scns); err != nil {
		t.Fatal(err)
	}
}

func TestCoverageCheckCatchesMistakes(t *testing.T) {
	reqs := []Requirement{
		{ID: "GW-TLS-01", Level: "MUST", Basis: "documented"},
		{ID: "GW-TLS-04", Level: "SHOULD", Basis: "assumed"},
	}
	for _, tc := range []struct {
		name string
		scns []ScenarioInfo
		want string
	}{
		{"uncovered requirement", []ScenarioInfo{{Name: "a", Tags: []string{"@GW-TLS-01", "@must"}}}, "GW-TLS-04 has no scenario"},
		{"unknown id", []ScenarioInfo{{Name: "a", Tags: []string{"@GW-TLS-99", "@must"}}}, "unknown requirement GW-TLS-99"},
		{"no id", []ScenarioInfo{{Name: "a", Tags: []string{"@must"}}}, "names no requirement"},
		{"wrong level", []ScenarioInfo{{Name: "a", Tags: []string{"@GW-TLS-01", "@should"}}}, "without @must"},
		{"missing @assumed", []ScenarioInfo{{Name: "a", Tags: []string{"@GW-TLS-04", "@should"}}}, "@assumed"},
	} {
		if err := CheckCoverage(reqs, tc.scns); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	bad := fstest.MapFS{"requirements.yaml": {Data: []byte("- id: GW-X\n  level: MUST\n")}}
	if _, err := LoadCatalogue(bad); err == nil {
		t.Error("a bad catalogue loaded")
	}
}

func TestVerdicts(t *testing.T) {
	cat := []Requirement{
		{ID: "GW-A-01", Level: "MUST", Basis: "documented"},
		{ID: "GW-B-01", Level: "MUST", Basis: "assumed"},
		{ID: "GW-C-01", Level: "MUST", Basis: "documented"},
		{ID: "GW-D-01", Level: "MUST", Basis: "documented"},
		{ID: "GW-E-01", Level: "MUST", Basis: "documented"},
		{ID: "GW-F-01", Level: "MUST", Basis: "documented"}, // blocked by a failing GW-D-01
		{ID: "GW-G-01", Level: "MUST", Basis: "documented"}, // "blocked" by a passing GW-H-01: its own failure
		{ID: "GW-H-01", Level: "MUST", Basis: "documented"},
		{ID: "GW-I-01", Level: "MUST", Basis: "documented"}, // a precondition of its own failed
		{ID: "GW-J-01", Level: "MUST", Basis: "documented"}, // one scenario not selected
	}
	scn := func(tag string, st reports.Status) reports.Scenario {
		return reports.Scenario{Name: tag, Tags: []string{"@" + tag}, Status: st}
	}
	blocked := func(tag, by string) reports.Scenario {
		s := scn(tag, reports.Blocked)
		s.BlockedBy = by
		return s
	}
	scenarios := []reports.Scenario{
		scn("GW-A-01", reports.Pass), scn("GW-A-01", reports.Unsupported), // pass + unsupported = partial
		scn("GW-B-01", reports.Fail),                               // assumed: warn, or fail when strict
		scn("GW-C-01", reports.Unsupported),                        // only unsupported
		scn("GW-D-01", reports.Pass), scn("GW-D-01", reports.Fail), // any failure fails
		blocked("GW-F-01", "GW-D-01"), scn("GW-F-01", reports.Pass),
		blocked("GW-G-01", "GW-H-01"), scn("GW-H-01", reports.Pass),
		blocked("GW-I-01", ""),
		scn("GW-J-01", reports.Pass),
	}
	var planned []PlannedScenario
	for _, s := range scenarios {
		planned = append(planned, PlannedScenario{Name: s.Name, Tags: s.Tags})
	}
	selected := planned
	planned = append(planned, PlannedScenario{Name: "GW-J-01 b", Tags: []string{"@GW-J-01"}})
	verdicts := func(strict bool, scope []string) map[string]reports.Requirement {
		in := VerdictInput{Catalogue: cat, Planned: planned, Selected: selected, Scenarios: slices.Clone(scenarios), Strict: strict, Scope: scope}
		out := map[string]reports.Requirement{}
		for _, r := range Verdicts(in) {
			out[r.ID] = r
		}
		return out
	}
	got := verdicts(false, nil)
	want := map[string]reports.Status{"GW-A-01": reports.Partial, "GW-B-01": reports.Warn, "GW-C-01": reports.Unsupported,
		"GW-D-01": reports.Fail, "GW-E-01": reports.NotRun, "GW-F-01": reports.Blocked, "GW-G-01": reports.Fail,
		"GW-H-01": reports.Pass, "GW-I-01": reports.Blocked, "GW-J-01": reports.Partial}
	for id, st := range want {
		if got[id].Status != st {
			t.Errorf("%s: %s (%s), want %s", id, got[id].Status, got[id].Reason, st)
		}
	}
	if r := got["GW-F-01"]; !slices.Equal(r.BlockedBy, []string{"GW-D-01"}) || !strings.Contains(r.Reason, "GW-D-01") {
		t.Errorf("blocked requirement names its blocker: %+v", r)
	}
	if r := got["GW-A-01"]; !strings.Contains(r.Reason, "unsupported") || !strings.Contains(r.Reason, "1 of 2") {
		t.Errorf("partial says what was not tested: %q", r.Reason)
	}
	if r := got["GW-J-01"]; !strings.Contains(r.Reason, "not selected") {
		t.Errorf("partial by selection: %q", r.Reason)
	}
	if strict := verdicts(true, nil); strict["GW-B-01"].Status != reports.Fail || strict["GW-B-01"].Effective != "MUST" {
		t.Errorf("strict assumed: %+v", strict["GW-B-01"])
	}
	scoped := verdicts(false, []string{"GW-H-01"})
	if scoped["GW-D-01"].Status != reports.OutOfScope || scoped["GW-H-01"].Status != reports.Pass {
		t.Errorf("scope: %v %v", scoped["GW-D-01"].Status, scoped["GW-H-01"].Status)
	}
	run := func(statuses ...reports.Status) *reports.Run {
		r := &reports.Run{}
		for i, st := range statuses {
			r.Requirements = append(r.Requirements, reports.Requirement{ID: fmt.Sprint(i), Effective: "MUST", Status: st})
		}
		return r
	}
	for _, tc := range []struct {
		run  *reports.Run
		want reports.Status
	}{
		{run(reports.Pass, reports.OutOfScope, reports.NotRun), reports.Pass},
		{run(reports.Pass, reports.Unsupported), reports.NotCertified},
		{run(reports.Pass, reports.Partial), reports.NotCertified},
		{run(reports.Blocked, reports.Pass), reports.NotCertified},
		{run(reports.Blocked, reports.Fail), reports.Fail},
		{&reports.Run{Interrupted: true}, reports.Interrupted},
		{&reports.Run{Requirements: []reports.Requirement{{Effective: "SHOULD", Status: reports.Warn}}}, reports.Pass},
		{&reports.Run{FailOnWarn: true, Requirements: []reports.Requirement{{Effective: "SHOULD", Status: reports.Warn}}}, reports.Fail},
		{&reports.Run{FailOnWarn: true, Requirements: []reports.Requirement{{Effective: "SHOULD", Status: reports.Unsupported}}}, reports.NotCertified},
	} {
		if got := tc.run.Verdict(); got != tc.want {
			t.Errorf("%+v: verdict %s, want %s", tc.run.Requirements, got, tc.want)
		}
	}
}

func TestLoadProfile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pki"), 0o755)
	// A CA file and a client certificate made by the project's own PKI.
	out, err := exec.Command("go", "run", "../cmd/ftpsgw", "pki", "init", "--out", filepath.Join(dir, "pki")).CombinedOutput()
	if err != nil {
		t.Fatalf("pki init: %v\n%s", err, out)
	}
	t.Setenv("TEST_MOCES_PASSWORD", "s3cret")
	write := func(body string) string {
		p := filepath.Join(dir, "target.yaml")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	p, err := LoadProfile(write(`name: test
address: 127.0.0.1:6381
ca: pki/ca/bundle.pem
server_name: localhost
identities:
  - name: moces
    cert: pki/clients/moces/chain.pem
    key: pki/clients/moces/key.pem
    username: CVR_19552101_RID_60134540
    password: ${TEST_MOCES_PASSWORD}
    folders: [FTPSGW.Heartbeat]
timeouts:
  receipt: 5s
`))
	if err != nil {
		t.Fatal(err)
	}
	id, cert, ok := p.Identity("moces")
	if !ok || cert == nil || id.Password != "s3cret" || p.Mode != "explicit" || p.PassivePorts != "36000-39999" {
		t.Errorf("profile: %+v %v", id, p)
	}
	for _, tc := range []struct{ body, want string }{
		{"address: x:1\nca: pki/ca/bundle.pem\npassword: ${NOT_SET_ANYWHERE_123}\n", "NOT_SET_ANYWHERE_123"},
		{"address: x:1\nca: nope.pem\n", "ca"},
		{"ca: pki/ca/bundle.pem\n", "address is required"},
		{"address: x:1\nca: pki/ca/bundle.pem\nmode: sideways\n", "mode"},
		{"address: x:1\nca: pki/ca/bundle.pem\ncolour: red\n", "colour"},
		{"address: x:1\nca: pki/ca/bundle.pem\nidentities: [{name: a}]\n", "cert and key"},
		{"address: x:1\nca: pki/ca/bundle.pem\ntimeouts: {receipt: soon}\n", "duration"},
		{"address: x:1\nca: pki/ca/bundle.pem\ncontrol: {token: x}\n", "control.url"},
	} {
		if _, err := LoadProfile(write(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("profile %q: %v", tc.body, err)
		}
	}
}

// TestStepsNeverImportTheSimulator keeps the layering: the suite talks to any gateway over
// the network; only the control API's wire package may be shared.
func TestStepsNeverImportTheSimulator(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/ftpsgw/ftpsgw/simulator") && dep != "github.com/ftpsgw/ftpsgw/simulator/control" {
			t.Errorf("steps depends on %s", dep)
		}
	}
}

// TestExampleProfileLoads keeps features/target.example.yaml usable: with its variables set
// and the dev PKI it points at in place, it loads.
func TestExampleProfileLoads(t *testing.T) {
	root := t.TempDir()
	pki := filepath.Join(root, "ftpsgw-data", "pki")
	if out, err := exec.Command("go", "run", "../cmd/ftpsgw", "pki", "init", "--out", pki).CombinedOutput(); err != nil {
		t.Fatalf("pki init: %v\n%s", err, out)
	}
	example, err := os.ReadFile("../features/target.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "features"), 0o755)
	path := filepath.Join(root, "features", "target.yaml")
	os.WriteFile(path, example, 0o644)
	for _, v := range []string{"MOCES_PASSWORD", "VOCES_PASSWORD", "FTPSGW_CONTROL_TOKEN"} {
		t.Setenv(v, "x")
	}
	if _, err := LoadProfile(path); err == nil || !strings.Contains(err.Error(), "VOCES_P12_PASSWORD") {
		t.Fatalf("an unset variable must be named: %v", err)
	}
	m, _ := os.ReadFile(filepath.Join(pki, "manifest.json"))
	var manifest struct {
		Identities []struct {
			Name        string `json:"name"`
			P12Password string `json:"p12_password"`
		}
	}
	_ = json.Unmarshal(m, &manifest)
	for _, id := range manifest.Identities {
		if id.Name == "voces" {
			t.Setenv("VOCES_P12_PASSWORD", id.P12Password)
		}
	}
	p, err := LoadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, cert, ok := p.Identity("voces"); !ok || cert == nil || p.Control == nil {
		t.Errorf("example profile: %+v", p)
	}
}

func TestListedNamesDropCurrentAndParent(t *testing.T) {
	for _, tc := range []struct {
		dir, listed, want string
		ok                bool
	}{
		{"/", ".", "", false}, {"/", "..", "", false}, {"/out", "/out/.", "", false}, {"/out", "/out/..", "", false},
		{"/", "/out", "out", true}, {"/", "FTPSGW.Heartbeat", "FTPSGW.Heartbeat", true},
		{"/out", "/out/status_x_1.xml", "status_x_1.xml", true}, {"/out", "status_x_1.xml", "status_x_1.xml", true},
	} {
		if got, ok := entryName(tc.dir, tc.listed); got != tc.want || ok != tc.ok {
			t.Errorf("entryName(%q, %q) = %q %v", tc.dir, tc.listed, got, ok)
		}
	}
}

func TestParsePASV(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		ip   string
		port int
		ok   bool
	}{
		{"Entering Passive Mode (127,0,0,1,140,161).", "127.0.0.1", 140*256 + 161, true},
		{"Entering Passive Mode 10,1,2,3,4,5", "10.1.2.3", 1029, true},
		{"Entering Passive Mode (127,0,0,1,300,1)", "", 0, false},
		{"Entering Extended Passive Mode (|||36000|)", "", 0, false},
	} {
		ip, port, ok := parsePASV(tc.msg)
		if ok != tc.ok || (ok && (ip.String() != tc.ip || port != tc.port)) {
			t.Errorf("%q: %v %d %v", tc.msg, ip, port, ok)
		}
	}
}
