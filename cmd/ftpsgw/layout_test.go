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
		case rel == "certs" || rel == "simulator/control" || rel == "features" || rel == "steps/ftpsclient":
			if o := own(p.Imports); len(o) > 0 {
				t.Errorf("%s imports %v; it must import nothing of the project", rel, o)
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
