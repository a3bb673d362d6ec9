package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ftpsgw/ftpsgw"

// TestPackageGraph holds the layout the README promises: certs imports nothing of the
// project; steps (which certifies any gateway) reaches a simulator only through the control
// API's typed client, also in its tests, where it may start one through the harness; the
// control API's client imports nothing of the simulator.
func TestPackageGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath                         string
		Imports, TestImports, XTestImports []string
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		own := func(list []string) []string {
			var o []string
			for _, i := range list {
				if strings.HasPrefix(i, module+"/") {
					o = append(o, strings.TrimPrefix(i, module+"/"))
				}
			}
			return o
		}
		tests := own(append(append([]string{}, p.TestImports...), p.XTestImports...))
		switch {
		case rel == "certs" || rel == "simulator/control" || rel == "features" || rel == "features/catalogue" || rel == "steps/ftpsclient" || rel == "steps/statusfile":
			if o := own(p.Imports); len(o) > 0 {
				t.Errorf("%s imports %v; it must import nothing of the project", rel, o)
			}
		case rel == "reports":
			if o := own(p.Imports); len(o) != 1 || o[0] != "features/catalogue" {
				t.Errorf("reports imports %v; it prints the catalogue's model and nothing else of the project", o)
			}
		case rel == "simulator" || (strings.HasPrefix(rel, "simulator/") && rel != "simulator/simtest" && rel != "simulator/container"):
			// the gateway never depends on the suite; only the harnesses that hand a profile
			// to the suite (simtest) and start images for it (container) may
			for _, i := range own(p.Imports) {
				if i == "steps" || strings.HasPrefix(i, "steps/") {
					t.Errorf("%s imports %s: the simulator does not depend on the suite", rel, i)
				}
			}
		case rel == "steps" || strings.HasPrefix(rel, "steps/"):
			for _, i := range append(own(p.Imports), tests...) {
				if strings.HasPrefix(i, "simulator") && i != "simulator/control" && i != "simulator/simtest" && i != "simulator/simtest/tool" {
					t.Errorf("%s imports %s: steps reach a gateway over the network and the control API only", rel, i)
				}
			}
			for _, i := range own(p.Imports) {
				if i == "simulator/simtest" {
					t.Errorf("%s imports the harness outside its tests", rel)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list found %d packages", seen)
	}
}
