package simulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

func rawRequest(t *testing.T, h *harness, method, path, body, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), method, h.srv.Ready().ControlAPI+control.APIPrefix+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func TestControlAPIRefusesBadInputAndChangesNothing(t *testing.T) {
	h := start(t, virtual)
	before, _ := h.api().Backend(ctx(t))
	clockBefore, _ := h.api().Clock(ctx(t))
	for _, tc := range []struct{ method, path, body, want string }{
		{"PUT", "/backend", `{"up": fals}`, "bad JSON"},
		{"PUT", "/backend", `{"up": false, "colour": "red"}`, "unknown field"},
		{"PUT", "/backend", `{"up": false} {"up": true}`, "more than one value"},
		{"PUT", "/backend", `{"default": {"action": "accept", "delay": "soon"}}`, "not a duration"},
		{"PUT", "/backend", `{"default": {"action": "maybe"}}`, "accept or reject"},
		{"PUT", "/backend", `{"services": {"x": {"action": "reject"}}}`, "error_code"},
		{"PUT", "/backend", `{"services": {"../etc": {"action": "accept"}}}`, "not a service folder"},
		{"PUT", "/backend", ``, "JSON body"},
		{"POST", "/clock/advance", `{"by": "-1h"}`, "duration"},
		{"POST", "/clock/advance", `{"by": "forever"}`, "duration"},
		{"POST", "/clock/advance", `{"by": "10000h"}`, "duration"},
		{"PUT", "/security", `{}`, "reachable"},
		{"PUT", "/security/roles/CVR_19552101_RID_60134540", `{"roles": ["out"]}`, "not a service folder"},
		{"PUT", "/security/roles/CVR_19552101_RID_60134540", `{"roles": ["a/b"]}`, "not a service folder"},
		{"POST", "/registrations", `{"certificate_pem": "nope", "password": "longenough"}`, "PEM"},
		{"GET", "/journal?since=yesterday", ``, "since"},
	} {
		code, body := rawRequest(t, h, tc.method, tc.path, tc.body, "")
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, code, body)
		}
	}
	if code, _ := rawRequest(t, h, "PUT", "/security/roles/CVR_00000000_RID_1", `{"roles": []}`, ""); code != http.StatusNotFound {
		t.Errorf("roles of an unknown username: %d", code)
	}
	if code, _ := rawRequest(t, h, "DELETE", "/registrations/CVR_00000000_RID_1", ``, ""); code != http.StatusNotFound {
		t.Errorf("deleting an unknown registration: %d", code)
	}
	after, _ := h.api().Backend(ctx(t))
	clockAfter, _ := h.api().Clock(ctx(t))
	if *after.Up != *before.Up || len(after.Services) != len(before.Services) || !clockAfter.Now.Equal(clockBefore.Now) {
		t.Errorf("state changed: backend %+v -> %+v, clock %s -> %s", before, after, clockBefore.Now, clockAfter.Now)
	}
}

func TestControlAPIToken(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.Control.Token = "s3cret-token" })
	if code, _ := rawRequest(t, h, "GET", "/health", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _ := rawRequest(t, h, "GET", "/health", "", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	if _, err := h.api().Health(ctx(t)); err != nil {
		t.Errorf("right token: %v", err)
	}
}

func TestAdvancingARealClockIsRefused(t *testing.T) {
	h := start(t, nil)
	if _, err := h.api().Advance(ctx(t), time.Hour); control.StatusOf(err) != http.StatusConflict {
		t.Fatalf("advance on a real clock: %v", err)
	}
}

func TestRegistrationsThroughTheAPI(t *testing.T) {
	h := start(t, virtual)
	api := h.api()
	moces := h.identity("moces")
	if err := api.Unregister(ctx(t), moces.Username); err != nil {
		t.Fatal(err)
	}
	r, _ := h.raw("moces")
	if code, msg, _ := r.Login(moces.Username, moces.Password); code != 530 || !strings.Contains(msg, "not registered") {
		t.Fatalf("after DELETE: %d %s", code, msg)
	}
	pem, _ := os.ReadFile(h.m.Path(moces.Cert))
	if _, err := api.Register(ctx(t), control.Registration{CertificatePEM: string(pem), Password: "new-password-1", Roles: []string{"FTPSGW.Heartbeat"}}); err != nil {
		t.Fatal(err)
	}
	c, err := h.dialAs("moces", moces.Username, "new-password-1")
	if err != nil {
		t.Fatalf("login with the new registration: %v", err)
	}
	if got := names(t, c, "/"); !slices.Equal(got, []string{"FTPSGW.Heartbeat", "out"}) {
		t.Errorf("roles of the new registration: %v", got)
	}
	// Certificates the gateway would refuse cannot be registered.
	for _, bad := range []string{"expired", "foreign-ca", "revoked", "personal"} {
		p, _ := os.ReadFile(h.m.Path(h.identity(bad).Cert))
		if _, err := api.Register(ctx(t), control.Registration{CertificatePEM: string(p), Password: "longenough"}); control.StatusOf(err) != 400 {
			t.Errorf("registering %s: %v", bad, err)
		}
	}
	regs, _ := api.Registrations(ctx(t))
	for _, reg := range regs {
		if reg.Password != "" {
			t.Error("a password was returned")
		}
	}
}

func TestResetRestoresTheInitialState(t *testing.T) {
	h := start(t, virtual)
	api := h.api()
	c := h.login("moces")
	c.Upload("/FTPSGW.Heartbeat/before_reset.txt", []byte("x"))
	api.SetBackendUp(ctx(t), false)
	api.SetSecurityReachable(ctx(t), false)
	api.Unregister(ctx(t), h.identity("voces").Username)
	if err := api.Reset(ctx(t)); err != nil {
		t.Fatal(err)
	}
	hl, _ := api.Health(ctx(t))
	if !hl.BackendUp || !hl.SecurityReachable || hl.QueueDepth != 0 {
		t.Errorf("after reset: %+v", hl)
	}
	j, _ := api.Journal(ctx(t), control.JournalQuery{})
	if len(j.Events) != 0 {
		t.Errorf("journal after reset: %d events", len(j.Events))
	}
	subs, _ := api.Submissions(ctx(t), "")
	if len(subs) != 0 {
		t.Errorf("submissions after reset: %+v", subs)
	}
	// voces is registered again; the name is free again.
	h.login("voces")
	c2 := h.login("moces")
	if err := c2.Upload("/FTPSGW.Heartbeat/before_reset.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	subs, _ = api.Submissions(ctx(t), "")
	if len(subs) != 1 || subs[0].Reused {
		t.Errorf("after reset the name is not free: %+v", subs)
	}
}

func TestJournalAndMetricsThroughTheAPI(t *testing.T) {
	h := start(t, nil)
	c := h.login("moces")
	c.Upload("/FTPSGW.Heartbeat/metrics_1.txt", []byte("12345"))
	api := h.api()
	moces := h.identity("moces").Username
	j, err := api.Journal(ctx(t), control.JournalQuery{Username: moces, Types: []control.EventType{control.EventUpload}})
	if err != nil || len(j.Events) != 1 || j.Events[0].Size != 5 || !j.Events[0].OK {
		t.Fatalf("journal: %+v %v", j, err)
	}
	// since= returns only newer events (the receipt pipeline may have added some meanwhile).
	later, _ := api.Journal(ctx(t), control.JournalQuery{Since: j.LastSeq})
	for _, e := range later.Events {
		if e.Seq <= j.LastSeq || e.Type == control.EventUpload {
			t.Errorf("since=%d returned an old event: %+v", j.LastSeq, e)
		}
	}
	eventually(t, "metrics", func() bool {
		m := h.metrics()
		return strings.Contains(m, `ftpsgw_logins_total{reason="",result="ok"} 1`) &&
			strings.Contains(m, `ftpsgw_uploads_total{result="accepted"} 1`) &&
			strings.Contains(m, "ftpsgw_upload_bytes_total 5") &&
			strings.Contains(m, `ftpsgw_receipts_total{code="1"} 1`) &&
			strings.Contains(m, "ftpsgw_sessions_active 1") &&
			strings.Contains(m, "ftpsgw_queue_depth")
	})
	code, body := rawRequest(t, h, "GET", "/schema/status.xsd", "", "")
	if code != 200 || !strings.Contains(body, `name="FTPTransaktionsId"`) {
		t.Errorf("schema: %d", code)
	}
}

// The journal reads as a user expects: success replies ok, a status_0 receipt with its code,
// connect events naming their listener, unknown filters refused.
func TestJournalIsReadable(t *testing.T) {
	h := start(t, virtual)
	c := h.login("moces")
	for range 2 { // the second upload of the name is answered with status_0
		if err := c.Upload("/FTPSGW.Heartbeat/readable_1.txt", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.api().Advance(ctx(t), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, body := rawRequest(t, h, "GET", "/journal?type=bogus", "", ""); code != 400 || !strings.Contains(body, "receipt") {
		t.Errorf("?type=bogus: %d %s", code, body)
	}
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(body, `"code": 0`) {
		if time.Now().After(deadline) {
			t.Fatalf("no status_0 receipt event with its code:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
		_, body = rawRequest(t, h, "GET", "/journal?type=receipt", "", "")
	}
	j, err := h.api().Journal(ctx(t), control.JournalQuery{Types: []control.EventType{control.EventReply, control.EventConnect}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range j.Events {
		switch {
		case e.Type == control.EventConnect && !strings.Contains(e.Reason, "explicit FTPS listener"):
			t.Errorf("connect reason %q", e.Reason)
		case e.Type == control.EventReply && e.OK != (e.Code < 400):
			t.Errorf("reply %d %s ok=%v", e.Code, e.Line, e.OK)
		}
	}
}

// GET /journal is written event by event as the journal decodes them; the body is what
// encoding the whole control.Journal at once gives, byte for byte, with and without filters
// and when nothing matches.
func TestJournalStreamedAsEncoded(t *testing.T) {
	h := start(t, virtual)
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/streamed_1.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	for deadline := time.Now().Add(5 * time.Second); len(h.srv.Journal().Query(simulator.JournalQuery{Types: []control.EventType{control.EventDisconnect}})) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no disconnect in the journal 5 s after QUIT")
		}
		time.Sleep(10 * time.Millisecond)
	}
	last, _ := h.srv.Journal().Stats()
	for _, tc := range []struct {
		query string
		q     simulator.JournalQuery
	}{
		{"", simulator.JournalQuery{}},
		{"?type=reply&type=login", simulator.JournalQuery{Types: []control.EventType{control.EventReply, control.EventLogin}}},
		{"?username=nobody", simulator.JournalQuery{Username: "nobody"}},
		{fmt.Sprintf("?since=%d", last-1), simulator.JournalQuery{Since: last - 1}},
		{fmt.Sprintf("?since=%d", last+5), simulator.JournalQuery{Since: last + 5}},
	} {
		before := h.srv.Journal().Query(tc.q)
		code, body := rawRequest(t, h, "GET", "/journal"+tc.query, "", "")
		evs := h.srv.Journal().Query(tc.q)
		if !slices.EqualFunc(before, evs, func(a, b control.Event) bool { return a.Seq == b.Seq }) {
			t.Fatalf("%q: the journal changed during the request", tc.query)
		}
		if evs == nil {
			evs = []control.Event{}
		}
		l, d := h.srv.Journal().Stats()
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(control.Journal{Events: evs, LastSeq: l, Dropped: d}); err != nil {
			t.Fatal(err)
		}
		if code != 200 || body != want.String() {
			t.Errorf("GET /journal%s: %d\n%s\nwant\n%s", tc.query, code, body, want.String())
		}
	}
}
