package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
)

// TestReportLinksIntoTheDashboard: a certification of a long-lived simulator records the
// journal window of each scenario, the HTML report links each into the simulator's dashboard,
// and the page opened from such a link shows exactly the sessions of that window.
func TestReportLinksIntoTheDashboard(t *testing.T) {
	sim := simtest.New(t, simtest.Options{})
	profile := writeProfile(t, "long-lived simulator", sim.Manifest, sim.FTPS, sim.PassivePorts, "control:\n  url: "+sim.ControlURL+"\n")
	dir := t.TempDir()
	code, stdout, stderr := runCLI("certify", "--target", profile, "--tags", "@GW-TLS-01 or @GW-NAME-01", "--report", dir)
	if code != exitOK {
		t.Fatalf("certify exited %d\n%s\n%s", code, stdout, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`href="(`+regexp.QuoteMeta(sim.ControlURL)+`/ui/#from=(\d+)&amp;to=(\d+))"`).FindAllStringSubmatch(string(raw), -1)
	results, err := reports.ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, r := range results.Requirements {
		for _, s := range r.Scenarios {
			if s.Status == reports.NotRun {
				continue
			}
			ran++
			if s.Journal == nil || s.Journal.To <= s.Journal.From {
				t.Errorf("scenario %q has no journal window: %+v", s.Name, s.Journal)
			}
		}
	}
	if ran == 0 || len(links) != ran || results.Run.Dashboard != sim.ControlURL+"/ui/" {
		t.Fatalf("%d scenarios ran, %d dashboard links in the report; dashboard %q", ran, len(links), results.Run.Dashboard)
	}
	// The link of the scenario that ran last (its events are still in the journal: each
	// scenario begins with a reset), opened: the sessions of its window, no others.
	var link []string
	var from, to int64
	for _, l := range links {
		f, _ := strconv.ParseInt(l[2], 10, 64)
		if link == nil || f > from {
			link, from = l, f
			to, _ = strconv.ParseInt(l[3], 10, 64)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	j, err := sim.Control.Journal(ctx, control.JournalQuery{Since: from})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, e := range j.Events {
		if e.Seq <= to && e.Session != "" {
			want[e.Session] = true
		}
	}
	if len(want) == 0 {
		t.Fatalf("no session in the journal window %d..%d", from, to)
	}
	// Every scenario's window still shows its sessions, though the scenarios after it reset
	// the simulator (and its journal): the dashboard keeps what it folded.
	for _, l := range links {
		var page struct{ Sessions []struct{ ID string } }
		resp, err := http.Get(sim.ControlURL + "/ui/api/sessions?from=" + l[2] + "&to=" + l[3])
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || len(page.Sessions) == 0 {
			t.Errorf("the window %s..%s shows no session on the dashboard (%v)", l[2], l[3], err)
		}
	}
	b := tool.Browser(t, time.Minute)
	if err := chromedp.Do(b, chromedp.Navigate(sim.ControlURL+"/ui/#from="+link[2]+"&to="+link[3]),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("tr.session")].map(r => r.dataset.session)`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, id := range shown {
		got[id] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the page shows sessions %v, the window holds %v", shown, want)
	}
	tool.WaitJS(t, b, "the filter banner", `!document.getElementById("filter").hidden && document.getElementById("filter-text").textContent.includes("one scenario")`, 5*time.Second)
}
