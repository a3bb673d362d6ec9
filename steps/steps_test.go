package steps

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cucumber/godog"
)

// TestStepsNeverImportTheSimulator keeps the layering: the suite (its steps, its target and
// its engine) talks to any gateway over the network; only the control API's wire package may
// be shared.
func TestStepsNeverImportTheSimulator(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "./certify", "./target").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/ftpsgw/ftpsgw/simulator") && dep != "github.com/ftpsgw/ftpsgw/simulator/control" {
			t.Errorf("steps depends on %s", dep)
		}
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

// TestEngineAndStepsAreApart: the engine takes the step definitions as an initializer and
// the steps know nothing of selection or verdicts, so neither imports the other.
func TestEngineAndStepsAreApart(t *testing.T) {
	for pkg, banned := range map[string]string{".": "github.com/ftpsgw/ftpsgw/steps/certify", "./certify": "github.com/ftpsgw/ftpsgw/steps"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == banned {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// TestCLIRunSaysWhereClientFeaturesBelong: `godog run ../features` reaches the client
// features too; each says to run it with certify-client instead of failing as undefined.
func TestCLIRunSaysWhereClientFeaturesBelong(t *testing.T) {
	t.Setenv("FTPSGW_TARGET", "")
	var out strings.Builder
	status := godog.TestSuite{Name: "cli", ScenarioInitializer: InitializeScenario,
		Options: &godog.Options{Format: "progress", Output: &out, FS: os.DirFS("../features"), Paths: []string{"client/session.feature"},
			Strict: true, NoColors: true}}.Run()
	if status == 0 || !strings.Contains(out.String(), "ftpsgw certify-client") || strings.Contains(out.String(), "undefined") {
		t.Errorf("status %d:\n%s", status, out.String())
	}
}

// TestRelativeTargetSaysWhereItWasLookedFor: a relative FTPSGW_TARGET that is not in the
// test's folder gets an error that says why and what to give instead.
func TestRelativeTargetSaysWhereItWasLookedFor(t *testing.T) {
	t.Setenv("FTPSGW_TARGET", "my-target.yaml")
	_, err := profileFromEnv()
	if err == nil || !strings.Contains(err.Error(), "is relative") || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("%v", err)
	}
}
