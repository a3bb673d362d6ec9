package certify

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
)

func TestVerdicts(t *testing.T) {
	cat := []catalogue.Requirement{
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
		return reports.Scenario{Scenario: catalogue.Scenario{Name: tag, Tags: []string{"@" + tag}}, Status: st}
	}
	blocked := func(tag string, by catalogue.ID) reports.Scenario {
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
	var planned []catalogue.Scenario
	for _, s := range scenarios {
		planned = append(planned, s.Scenario)
	}
	selected := planned
	planned = append(planned, catalogue.Scenario{Name: "GW-J-01 b", Tags: []string{"@GW-J-01"}})
	verdicts := func(strict bool, scope []catalogue.ID) map[catalogue.ID]reports.Requirement {
		in := VerdictInput{Catalogue: cat, Planned: planned, Selected: selected, Scenarios: slices.Clone(scenarios), Strict: strict, Scope: scope}
		out := map[catalogue.ID]reports.Requirement{}
		for _, r := range Verdicts(in) {
			out[r.ID] = r
		}
		return out
	}
	got := verdicts(false, nil)
	want := map[catalogue.ID]reports.Status{"GW-A-01": reports.Partial, "GW-B-01": reports.Warn, "GW-C-01": reports.Unsupported,
		"GW-D-01": reports.Fail, "GW-E-01": reports.NotRun, "GW-F-01": reports.Blocked, "GW-G-01": reports.Fail,
		"GW-H-01": reports.Pass, "GW-I-01": reports.Blocked, "GW-J-01": reports.Partial}
	for id, st := range want {
		if got[id].Status != st {
			t.Errorf("%s: %s (%s), want %s", id, got[id].Status, got[id].Reason, st)
		}
	}
	if r := got["GW-F-01"]; !slices.Equal(r.BlockedBy, []catalogue.ID{"GW-D-01"}) || !strings.Contains(r.Reason, "GW-D-01") {
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
	scoped := verdicts(false, []catalogue.ID{"GW-H-01"})
	if scoped["GW-D-01"].Status != reports.OutOfScope || scoped["GW-H-01"].Status != reports.Pass {
		t.Errorf("scope: %v %v", scoped["GW-D-01"].Status, scoped["GW-H-01"].Status)
	}
	run := func(statuses ...reports.Status) *reports.Run {
		r := &reports.Run{}
		for i, st := range statuses {
			r.Requirements = append(r.Requirements, reports.Requirement{Requirement: catalogue.Requirement{ID: catalogue.ID(fmt.Sprint(i))}, Effective: "MUST", Status: st})
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
