package steps

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
	}
	scn := func(tag string, st reports.Status) reports.Scenario {
		return reports.Scenario{Name: tag, Tags: []string{"@" + tag}, Status: st}
	}
	scenarios := []reports.Scenario{
		scn("GW-A-01", reports.Pass), scn("GW-A-01", reports.Unsupported), // pass + unsupported = pass
		scn("GW-B-01", reports.Fail),                               // assumed: warn, or fail when strict
		scn("GW-C-01", reports.Unsupported),                        // only unsupported
		scn("GW-D-01", reports.Pass), scn("GW-D-01", reports.Fail), // any failure fails
	}
	got := map[string]reports.Status{}
	for _, r := range Verdicts(cat, scenarios, false) {
		got[r.ID] = r.Status
	}
	want := map[string]reports.Status{"GW-A-01": reports.Pass, "GW-B-01": reports.Warn, "GW-C-01": reports.Unsupported,
		"GW-D-01": reports.Fail, "GW-E-01": reports.NotRun}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: %s, want %s", id, got[id], st)
		}
	}
	strict := Verdicts(cat, scenarios, true)
	if strict[1].Status != reports.Fail || strict[1].Effective != "MUST" {
		t.Errorf("strict assumed: %+v", strict[1])
	}
	run := &reports.Run{Requirements: Verdicts(cat[:1], scenarios, false)}
	if run.Verdict() != reports.Pass {
		t.Error("a passing MUST gave a failing verdict")
	}
	run.Requirements = Verdicts(cat[2:3], scenarios, false)
	if run.Verdict() != reports.Fail {
		t.Error("an UNSUPPORTED MUST gave a passing verdict: it is not certified")
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
