package simulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
)

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// pageHas is a JavaScript condition: some element matching selector has text containing text.
func pageHas(selector, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%s)].some(e => e.textContent.includes(%s))`, jsString(selector), jsString(text))
}

// journalHas waits until the journal holds an event matching match and returns when it saw it.
func journalHas(t *testing.T, h *harness, what string, match func(simulator.Event) bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, e := range h.events(simulator.JournalQuery{}) {
			if match(e) {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal event: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestDashboardShowsAClientLive opens the dashboard in Chromium, then a real client (curl)
// uploads: the page shows the session, the upload and its receipts as the journal records
// them, without a reload; a switch on the page changes the gateway (seen through the control
// API) with the token and is refused without it; a client offering TLS 1.3 shows its rule
// line; names and replies that hold markup are shown as text.
func TestDashboardShowsAClientLive(t *testing.T) {
	curl := tool.Need(t, "curl", "curl")
	h := start(t, func(c *simulator.Config) { virtual(c); c.Control.Token = "dash-token" })
	b := tool.Browser(t, 3*time.Minute)
	base := h.srv.Ready().ControlAPI
	if err := chromedp.Do(b, chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(b, chromedp.Evaluate[int](`window.__sameLoad = 1`)); err != nil {
		t.Fatal(err)
	}
	tool.WaitJS(t, b, "the live stream connected", pageHas("#live", "live"), 10*time.Second)

	id := h.identity("moces")
	file := filepath.Join(t.TempDir(), "ping_ui_1.txt")
	os.WriteFile(file, []byte("ping from the dashboard test\n"), 0o644)
	runCurl := func(args ...string) ([]byte, error) {
		args = append([]string{"-sS", "--max-time", "20", "--ssl-reqd", "--cacert", h.srv.Ready().CABundle,
			"--cert", h.m.Path(id.Cert), "--key", h.m.Path(id.Key), "--user", id.Username + ":" + id.Password}, args...)
		return exec.CommandContext(ctx(t), curl, args...).CombinedOutput()
	}
	if out, err := runCurl("--tlsv1.2", "--tls-max", "1.2", "-T", file, "ftp://"+h.srv.Ready().Control+"/FTPSGW.Heartbeat/"); err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	seen := journalHas(t, h, "the upload", func(e simulator.Event) bool { return e.Type == simulator.EventUpload && e.OK })
	lag := tool.WaitJS(t, b, "the upload in its session row and in the uploads", pageHas("tr.session", id.Username)+" && "+
		pageHas("tr.session", "1 up")+" && "+pageHas(`tr[data-upload="ping_ui_1.txt"]`, "ping_ui_1.txt"), 10*time.Second)
	t.Logf("the page showed the session and the upload %s after the journal recorded it (seen by polling from the test)", lag+time.Since(seen)-lag)

	// Receipts: the backend delivers once the virtual clock moves; _1 and _2 appear.
	api := h.api()
	if _, err := api.Advance(ctx(t), time.Minute); err != nil {
		t.Fatal(err)
	}
	journalHas(t, h, "receipt 2", func(e simulator.Event) bool { return e.Type == simulator.EventReceipt && e.Code == 2 })
	lag = tool.WaitJS(t, b, "receipts _1 and _2", pageHas(`tr[data-upload="ping_ui_1.txt"] .receipt`, "_1")+" && "+
		pageHas(`tr[data-upload="ping_ui_1.txt"] .receipt`, "_2"), 10*time.Second)
	t.Logf("receipts shown %s after the journal's receipt 2", lag)
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`tr[data-upload="ping_ui_1.txt"] .receipt.code1`))); err != nil {
		t.Fatal(err)
	}
	tool.WaitJS(t, b, "the receipt's XML", pageHas("#receipt-xml", "<?xml")+` && document.querySelector("#receipt-xml").children.length === 0`, 5*time.Second)

	// A switch without the token: refused, the backend stays up.
	clickSwitch := func(label string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const b = [...document.querySelectorAll("#state button")].find(b => b.textContent === %s); if (!b) return false; b.click(); return true })()`, jsString(label))
		if ok, err := chromedp.Run(b, chromedp.Evaluate[bool](js)); err != nil || !ok {
			t.Fatalf("no switch %q on the page (%v)", label, err)
		}
	}
	clickSwitch("Take the backend down")
	tool.WaitJS(t, b, "the refusal of the switch without a token", pageHas("#call-log li", "401"), 10*time.Second)
	if be, err := api.Backend(ctx(t)); err != nil || be.Up == nil || !*be.Up {
		t.Fatalf("the backend went down without the token: %+v %v", be, err)
	}
	// With the token typed in: the control API sees the backend down.
	if err := chromedp.Do(b, chromedp.SetValue(chromedp.CSS("#token"), "dash-token")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.getElementById("token").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	clickSwitch("Take the backend down")
	deadline := time.Now().Add(10 * time.Second)
	for {
		be, err := api.Backend(ctx(t))
		if err == nil && be.Up != nil && !*be.Up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the switch did not take the backend down: %+v %v", be, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tool.WaitJS(t, b, "the backend shown down", pageHas("#backend-chip", "backend down"), 10*time.Second)

	// TLS 1.3 offered: the plain-words rule line, with its requirement linked.
	if out, err := runCurl("--tlsv1.3", "-T", file, "ftp://"+h.srv.Ready().Control+"/FTPSGW.Heartbeat/ping_ui_2.txt"); err == nil {
		t.Fatalf("a TLS 1.3 upload went through:\n%s", out)
	}
	tool.WaitJS(t, b, "the TLS 1.3 rule line", pageHas("ul.findings li.broke", "TLS 1.3 offered: refused")+" && "+
		pageHas(`ul.findings li.broke a[href="#req-GW-TLS-01"]`, "GW-TLS-01"), 10*time.Second)
	tool.WaitJS(t, b, "the requirement's Danish and English text", pageHas("#req-GW-TLS-01", "FPTS-protokol understøtter kun TLS 1.2")+" && "+
		pageHas("#req-GW-TLS-01", "TLS 1.2 only"), 5*time.Second)

	// Markup in a username, a file name and the replies that echo them is text on the page.
	r := h.rawLogin("moces")
	evil := `<img src=x onerror="window.__xss=1">.txt`
	if code, _, err := r.Cmd("STOR FTPSGW.Heartbeat/%s", evil); err != nil || code < 400 {
		t.Fatalf("STOR of a name with markup: %d %v", code, err)
	}
	r2, _ := h.raw("moces")
	r2.Login(`<script>window.__xss=2</script>`, "x")
	tool.WaitJS(t, b, "the markup as text", pageHas("ul.findings li", evil)+" && "+pageHas("tr.session", "<script>window.__xss=2</script>"), 10*time.Second)
	// the session's commands and replies, opened: the STOR line and the reply that echoes it
	if ok, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => { const r = [...document.querySelectorAll("tr.session")].find(r => r.textContent.includes("onerror")); if (!r) return false; r.click(); return true })()`)); err != nil || !ok {
		t.Fatalf("no session row with the STOR of markup (%v)", err)
	}
	tool.WaitJS(t, b, "the STOR line as text in the session's detail", pageHas("tr.detail .lines div", "> STOR FTPSGW.Heartbeat/"+evil), 10*time.Second)
	if injected, err := chromedp.Run(b, chromedp.Evaluate[bool](`window.__xss !== undefined || document.querySelector("main img, main script") !== null`)); err != nil || injected {
		t.Fatalf("markup from the gateway became part of the page (err %v)", err)
	}

	// All of it in one page load.
	if same, err := chromedp.Run(b, chromedp.Evaluate[bool](`window.__sameLoad === 1`)); err != nil || !same {
		t.Fatal("the page reloaded")
	}

	// The screenshot (docs/dashboard.png when FTPSGW_SCREENSHOT names where to write it).
	if os.Getenv("FTPSGW_SCREENSHOT") != "" {
		time.Sleep(2 * time.Second) // the rows' highlight of what just changed fades first
	}
	if _, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.getElementById("receipt-view").hidden = true; window.scrollTo(0, 0); true`)); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	colours := map[uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 4 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("the screenshot looks blank: %d colours", len(colours))
	}
	if p := os.Getenv("FTPSGW_SCREENSHOT"); p != "" {
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDashboardReadsWithoutTheTokenOnly: the page and its reads need no token; anything but
// a read under /ui/ is refused, and the control API still needs the token.
func TestDashboardReadsWithoutTheTokenOnly(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.Control.Token = "tok" })
	base := h.srv.Ready().ControlAPI
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/api/state", "/ui/api/sessions", "/ui/api/uploads", "/ui/api/requirements"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s without the token: %d, want 200", p, resp.StatusCode)
		}
	}
	resp, err := http.Post(base+"/ui/api/state", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST under /ui/: %d, want 405", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPut, base+control.APIPrefix+"/backend", strings.NewReader(`{"up": false}`))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("PUT /backend without the token: %d, want 401", resp.StatusCode)
	}
	for _, bad := range []string{"/ui/api/sessions?limit=0", "/ui/api/sessions?before=x", "/ui/api/receipt?id=-1", "/ui/events?since=abc"} {
		resp, err := http.Get(base + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", bad, resp.StatusCode)
		}
	}
	resp, err = http.Get(base + "/ui/api/sessions/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown session: %d, want 404", resp.StatusCode)
	}
}

// TestDashboardStaysUsableWithAFullJournal: 1,500 sessions in the journal; the page shows a
// window of them, pages back with "Older sessions", and stays live.
func TestDashboardStaysUsableWithAFullJournal(t *testing.T) {
	h := start(t, nil)
	j := h.srv.Journal()
	for i := range 1500 {
		id := fmt.Sprintf("bulk-%04d", i)
		j.Append(control.Event{Session: id, Remote: "127.0.0.1:1", Type: control.EventConnect, OK: true})
		j.Append(control.Event{Session: id, Type: control.EventTLS, OK: true, TLSVersion: "TLS1.2", Identity: "CVR:19552101-RID:1"})
		j.Append(control.Event{Session: id, Type: control.EventCommand, Line: "PROT C"})
		j.Append(control.Event{Session: id, Type: control.EventDisconnect, OK: true})
	}
	b := tool.Browser(t, 2*time.Minute)
	if err := chromedp.Do(b, chromedp.Navigate(h.srv.Ready().ControlAPI+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("tr.session").length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != 100 {
		t.Fatalf("%d rows at first, want the newest 100", n)
	}
	tool.WaitJS(t, b, "the newest session first", `document.querySelector("tr.session").dataset.session === "bulk-1499"`, 5*time.Second)
	for range 3 {
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#older"))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tool.WaitJS(t, b, "400 rows after paging back three times", `document.querySelectorAll("tr.session").length === 400`, 10*time.Second)
	tool.WaitJS(t, b, "the oldest paged-in row", `document.querySelector("tr.session:last-of-type").dataset.session === "bulk-1100"`, 5*time.Second)
	// still live: a new session arrives at the top
	j.Append(control.Event{Session: "late-one", Type: control.EventConnect, OK: true})
	j.Append(control.Event{Session: "late-one", Type: control.EventCommand, Line: "PORT 127,0,0,1,4,1"})
	tool.WaitJS(t, b, "the new session's active-mode rule line", pageHas(`tr[data-session="late-one"] ul.findings li`, "active mode (PORT)"), 10*time.Second)
}

// TestDashboardStreamsAreBounded: at most 16 live streams at once, the next is told why;
// closing the simulator ends the open ones.
func TestDashboardStreamsAreBounded(t *testing.T) {
	h := start(t, nil)
	url := h.srv.Ready().ControlAPI + "/ui/events"
	client := &http.Client{Timeout: 30 * time.Second}
	var open []*http.Response
	for i := range 16 {
		resp, err := client.Get(url)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream %d: %v %v", i, resp, err)
		}
		buf := make([]byte, 64)
		if _, err := resp.Body.Read(buf); err != nil { // the opening comment arrives at once
			t.Fatalf("stream %d: %v", i, err)
		}
		open = append(open, resp)
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.String(), "16 dashboards are open") {
		t.Fatalf("the 17th stream: %d %s", resp.StatusCode, body)
	}
	open[0].Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for { // its slot comes back
		resp, err := client.Get(url)
		if err == nil && resp.StatusCode == 200 {
			open[0] = resp
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed stream's slot did not come back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.Close() }()
	for i, r := range open {
		if _, err := io.Copy(io.Discard, r.Body); err != nil && !strings.Contains(err.Error(), "EOF") {
			t.Logf("stream %d ended with %v", i, err)
		}
		r.Body.Close()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("closing the simulator hung on open dashboard streams")
	}
}
