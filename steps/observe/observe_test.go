package observe

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// TestTheDirectorPlaysOneCaseAtATime: a Go client (jlaffaye/ftp) uploads in a loop, retrying
// what failed; the director drops its login once, then shows it an impostor certificate
// once; the judgement sees it come back (CL-NET-01) and refuse the impostor (CL-TLS-04), and
// leaves what it did not do NOT EXERCISED.
func TestTheDirectorPlaysOneCaseAtATime(t *testing.T) {
	finish := make(chan struct{})
	sim := simtest.New(t, simtest.Options{Observe: true, RealClock: true, Finish: func() { close(finish) }})
	m := sim.Manifest
	id, _ := m.Lookup("moces")
	cert, err := m.ClientCertificate(id)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := m.CAPool()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	type result struct {
		obs *Observation
		err error
	}
	done := make(chan result, 1)
	ids := []Identity{{Name: "moces", Username: id.Username, Fingerprint: id.Fingerprint}}
	suite, err := catalogue.Load(features.ClientFS)
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	go func() {
		obs, err := Observe(ctx, Options{API: sim.Control, Identities: ids, Finish: finish, Poll: 20 * time.Millisecond,
			Settle: 2 * time.Second, Cases: []CaseKind{CaseLoginDropped, CaseForeignCA},
			Report: func(o *Observation) {
				if err := Publish(ctx, sim.Control, o, suite, ids, false); err != nil {
					t.Errorf("publishing the progress: %v", err)
				}
				published++
			}})
		done <- result{obs, err}
	}()
	upload := func(name string) error {
		c, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: sim.FTPS, ServerName: "localhost", RootCAs: pool, Certificate: &cert, Timeout: 10 * time.Second})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Login(id.Username, id.Password); err != nil {
			return err
		}
		return c.Upload("FTPSGW.Heartbeat/"+name, []byte("heartbeat "+name+"\n"))
	}
	var failures []string
	n := 1
	for round := 0; round < 40 && n <= 6; round++ {
		name := fmt.Sprintf("ping_director_%d.txt", n)
		if err := upload(name); err != nil {
			failures = append(failures, err.Error())
		} else {
			n++
		}
		time.Sleep(150 * time.Millisecond)
	}
	// The dashboard shows the verdicts so far, live; its button ends the observation.
	b := tool.Browser(t, time.Minute)
	if err := chromedp.Do(b, chromedp.Navigate(sim.ControlURL+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	tool.WaitJS(t, b, "the observation's verdicts so far", `[...document.querySelectorAll('#observation tr[data-observed="CL-NET-01"]')].some(r => r.textContent.includes("PASS"))`, 15*time.Second)
	tool.WaitJS(t, b, "the cases in order", `[...document.querySelectorAll('#observation ol li')].length === 2`, 5*time.Second)
	if ok, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => { const b = [...document.querySelectorAll("#state button")].find(b => b.textContent === "Finish the observation"); if (!b) return false; b.click(); return true })()`)); err != nil || !ok {
		t.Fatalf("no finish button on the dashboard (%v)", err)
	}
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("the observation did not end")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, c := range r.obs.Cases {
		if c.Armed == 0 || c.Hit == 0 || c.Done == 0 || c.Hit <= c.Armed {
			t.Errorf("case %s: armed %d hit %d done %d", c.Kind, c.Armed, c.Hit, c.Done)
		}
	}
	if a, b := r.obs.Cases[0], r.obs.Cases[1]; b.Armed < a.Done {
		t.Errorf("two cases at once: %s done at %d, %s armed at %d", a.Kind, a.Done, b.Kind, b.Armed)
	}
	if len(failures) < 2 {
		t.Errorf("the client saw %d failures (%v); the dropped login and the impostor each make one", len(failures), failures)
	}
	// the dashboard's view of the progress (GET /observation), as last published
	if published == 0 {
		t.Fatal("no progress was published")
	}
	progress, err := sim.Control.Observation(ctx)
	if err != nil || len(progress.Requirements) != len(suite.Requirements) || len(progress.Cases) != 2 ||
		!strings.HasPrefix(progress.Cases[0].State, "done") {
		t.Errorf("published progress %+v (%v)", progress, err)
	}
	run := Judge(r.obs, suite, ids, false)
	got := map[string]reports.Status{}
	for _, req := range run.Requirements {
		got[string(req.ID)] = req.Status
	}
	for id, want := range map[string]reports.Status{"CL-NET-01": reports.Pass, "CL-TLS-04": reports.Pass, "CL-TLS-01": reports.Pass,
		"CL-AUTH-01": reports.Pass, "CL-NAME-01": reports.Pass, "CL-STAT-01": reports.NotExercised, "CL-BACK-01": reports.NotExercised} {
		if got[id] != want {
			t.Errorf("%s: %s, want %s", id, got[id], want)
		}
	}
	desc := Describe(r.obs, time.Minute)
	if !strings.Contains(desc, "1. the gateway closes the control connection when the product sends its password") ||
		!strings.Contains(desc, "2. on the product's next connection the gateway presents a certificate from a CA") {
		t.Errorf("description: %s", desc)
	}
	if run.Verdict() != reports.NotCertified {
		t.Errorf("verdict %s with requirements not exercised", run.Verdict())
	}
}
