package catalogue

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ftpsgw/ftpsgw/features"
)

func TestCatalogueCoversEveryFeature(t *testing.T) {
	suite, err := Load(features.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(suite.Requirements) < 19 {
		t.Fatalf("%d requirements, want at least the 19 of the issue", len(suite.Requirements))
	}
	if err := Check(suite.Requirements, suite.Scenarios); err != nil {
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
		scns []Scenario
		want string
	}{
		{"uncovered requirement", []Scenario{{Name: "a", Tags: []string{"@GW-TLS-01", "@must"}}}, "GW-TLS-04 has no scenario"},
		{"unknown id", []Scenario{{Name: "a", Tags: []string{"@GW-TLS-99", "@must"}}}, "unknown requirement GW-TLS-99"},
		{"no id", []Scenario{{Name: "a", Tags: []string{"@must"}}}, "names no requirement"},
		{"wrong level", []Scenario{{Name: "a", Tags: []string{"@GW-TLS-01", "@should"}}}, "without @must"},
		{"missing @assumed", []Scenario{{Name: "a", Tags: []string{"@GW-TLS-04", "@should"}}}, "@assumed"},
	} {
		if err := Check(reqs, tc.scns); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	bad := fstest.MapFS{"requirements.yaml": {Data: []byte("- id: GW-X\n  level: MUST\n")}}
	if _, err := LoadRequirements(bad); err == nil {
		t.Error("a bad catalogue loaded")
	}
}
