package steps

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/cucumber/godog"
)

// stepDefinitions lists what godog's -godog.definitions prints for an initializer: each
// pattern with the function it runs.
func stepDefinitions(t *testing.T, init func(*godog.ScenarioContext)) map[string][]string {
	t.Helper()
	var out bytes.Buffer
	godog.TestSuite{Name: "definitions", ScenarioInitializer: init,
		Options: &godog.Options{Format: "progress", Output: &out, ShowStepDefinitions: true, NoColors: true}}.Run()
	defs := map[string][]string{}
	line := regexp.MustCompile(`^(\S.*?)\s+# (\S+):\d+ -> (\S+)$`)
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*m")
	for _, l := range strings.Split(ansi.ReplaceAllString(out.String(), ""), "\n") {
		if m := line.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			defs[m[1]] = append(defs[m[1]], m[3])
		}
	}
	if len(defs) == 0 {
		t.Fatalf("no step definitions printed:\n%s", out.String())
	}
	return defs
}

// TestStepsAreNamedAndRegisteredOnce: every step runs a named method (so -godog.definitions
// says which), and no pattern is registered twice in a suite.
func TestStepsAreNamedAndRegisteredOnce(t *testing.T) {
	s := &Suite{}
	for name, init := range map[string]func(*godog.ScenarioContext){
		"gateway": s.InitializeScenario, "client": func(sc *godog.ScenarioContext) { s.RegisterClient(sc) },
	} {
		defs := stepDefinitions(t, init)
		anon := regexp.MustCompile(`func\d+`)
		for pattern, fns := range defs {
			if len(fns) > 1 {
				t.Errorf("%s suite: %s registered %d times: %v", name, pattern, len(fns), fns)
			}
			for _, fn := range fns {
				if anon.MatchString(fn) {
					t.Errorf("%s suite: %s runs an anonymous function %s", name, pattern, fn)
				}
			}
		}
		t.Logf("%s suite: %d step definitions", name, len(defs))
	}
}
