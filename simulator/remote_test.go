package simulator_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// cutLink is a TCP forwarder between the gateway and a neighbour service that the test can
// cut (every connection, open or new, is dropped) and restore: a network partition on loopback.
type cutLink struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func newCutLink(t *testing.T, target string) *cutLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &cutLink{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); l.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go l.forward(c)
		}
	}()
	return l
}

func (l *cutLink) URL() string { return "http://" + l.ln.Addr().String() }

func (l *cutLink) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return false
	}
	l.conns[c] = true
	return true
}

func (l *cutLink) forward(c net.Conn) {
	defer c.Close()
	if !l.track(c) {
		return
	}
	u, err := net.DialTimeout("tcp", l.target, 5*time.Second)
	if err != nil {
		return
	}
	defer u.Close()
	if !l.track(u) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); done <- struct{}{} }()
	go func() { io.Copy(c, u); done <- struct{}{} }()
	<-done
}

func (l *cutLink) setCut(cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = cut
	if cut {
		for c := range l.conns {
			c.Close()
		}
		l.conns = map[net.Conn]bool{}
	}
}

// serveService runs an HTTP handler on loopback until the test ends.
func serveService(t *testing.T, h http.Handler) string {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := simulator.ServeHTTPUntil(c, "127.0.0.1:0", h, slog.Default(), func(a string) { ready <- a }); err != nil {
			t.Errorf("service: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-ready:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("service did not start")
		return ""
	}
}

func TestRemoteBackendLinkCutDelaysButNeverFailsOrDoubles(t *testing.T) {
	dir := t.TempDir()
	backend, err := simulator.OpenBackendService(dir, simulator.DefaultConfig().Backend, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	link := newCutLink(t, serveService(t, backend.Handler()))
	bc := control.NewBackendClient(link.URL(), 5*time.Second)
	h := start(t, func(c *simulator.Config) {
		c.Clock = simulator.ClockVirtual
		c.Backend.URL = link.URL()
		c.Backend.Timeout = simulator.Duration(2 * time.Second)
	})
	api := h.api()
	moces := h.identity("moces")

	// Rules set through the gateway's control API reach the remote backend.
	if _, err := api.SetBackend(ctx(t), control.Backend{Services: map[string]control.ServiceRule{
		"eKapital.Rente.Udlaan": {Action: "reject", ErrorCode: "BAD_FILE", ErrorMessage: "Bad file."}}}); err != nil {
		t.Fatal(err)
	}
	if rules, err := bc.Rules(ctx(t)); err != nil || rules.Services["eKapital.Rente.Udlaan"].Action != "reject" {
		t.Fatalf("rules in the backend process: %+v, %v", rules, err)
	}
	c := h.login("moces")
	for _, n := range []string{"/FTPSGW.Heartbeat/up_1.txt", "/eKapital.Rente.Udlaan/up_2.txt"} {
		if err := c.Upload(n, []byte("hello\n")); err != nil {
			t.Fatal(err)
		}
	}
	api.Advance(ctx(t), 3*time.Second)
	rs := receipts(t, h, "moces")
	if got := codes(rs, "up_1.txt"); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("heartbeat through the remote backend: %v", got)
	}
	if got := codes(rs, "up_2.txt"); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("rejected by the remote backend's rule: %v", got)
	}

	// Cut the link: uploads are still accepted; hours pass without any receipt, and no _0.
	link.setCut(true)
	for _, n := range []string{"cut_1.txt", "cut_2.txt", "cut_3.txt"} {
		if err := c.Upload("/FTPSGW.Heartbeat/"+n, []byte(n)); err != nil {
			t.Fatalf("upload while the backend is cut off: %v", err)
		}
	}
	api.Advance(ctx(t), 7*time.Hour)
	for _, n := range []string{"cut_1.txt", "cut_2.txt", "cut_3.txt"} {
		if got := codes(receipts(t, h, "moces"), n); len(got) != 0 {
			t.Fatalf("%s got receipts %v while the backend was cut off", n, got)
		}
	}
	if m := h.metrics(); !strings.Contains(m, `ftpsgw_remote_errors_total{service="backend"}`) {
		t.Errorf("metrics do not count the failed requests:\n%s", grepLines(m, "remote"))
	}
	if !strings.Contains(h.log.String(), "backend unreachable; deliveries wait") {
		t.Error("the log does not say the backend is unreachable")
	}

	// Restore it: within one back-off period everything flows, in upload order, once.
	link.setCut(false)
	api.Advance(ctx(t), 15*time.Minute+3*time.Second)
	var order []string
	for _, r := range receipts(t, h, "moces") {
		if strings.HasPrefix(r.Filename, "cut_") {
			order = append(order, r.Name)
		}
		if r.Code == 0 && r.Filename != "up_2.txt" {
			t.Errorf("a status_0 after the link was cut: %+v", r)
		}
	}
	want := []string{
		"status_FTPSGW.Heartbeat_cut_1.txt_1.xml", "status_FTPSGW.Heartbeat_cut_2.txt_1.xml", "status_FTPSGW.Heartbeat_cut_3.txt_1.xml",
		"status_FTPSGW.Heartbeat_cut_1.txt_2.xml", "status_FTPSGW.Heartbeat_cut_2.txt_2.xml", "status_FTPSGW.Heartbeat_cut_3.txt_2.xml",
	}
	if !slices.Equal(order, want) {
		t.Fatalf("receipts after the link came back:\n%v\nwant\n%v", order, want)
	}
	got, err := bc.Deliveries(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
		if d.Username != moces.Username || d.Size == 0 || len(d.SHA256) != 64 {
			t.Errorf("backend record %+v", d)
		}
	}
	if !slices.Equal(names, []string{"up_1.txt", "up_2.txt", "cut_1.txt", "cut_2.txt", "cut_3.txt"}) {
		t.Fatalf("the backend received %v: each file exactly once, in order", names)
	}
}

func TestRemoteSecurityCutKeepsLastReplica(t *testing.T) {
	sec, err := simulator.OpenSecurityService(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Close()
	direct := serveService(t, sec.Handler())
	link := newCutLink(t, direct)
	sc := control.NewSecurityClient("http://"+direct, 5*time.Second)
	h := start(t, func(c *simulator.Config) {
		c.Clock = simulator.ClockVirtual
		c.Security.URL = link.URL()
		c.Security.Timeout = simulator.Duration(2 * time.Second)
	})
	api := h.api()
	moces := h.identity("moces")
	// A fresh security system receives the gateway's initial registrations.
	snap, err := sc.Snapshot(ctx(t))
	if err != nil || len(snap.Registrations) == 0 {
		t.Fatalf("the security process holds %d registrations (%v)", len(snap.Registrations), err)
	}
	for _, r := range snap.Registrations {
		if strings.Contains(r.PasswordHash, moces.Password) {
			t.Fatal("a password reached the security system in clear")
		}
	}

	// Cut: logins go on from the replica; a role change made in the security system
	// meanwhile is invisible, and replicate-now says 503.
	link.setCut(true)
	if err := sc.SetRoles(ctx(t), moces.Username, []string{"FTPSGW.Heartbeat"}); err != nil {
		t.Fatal(err)
	}
	api.Advance(ctx(t), 3*time.Hour)
	c := h.login("moces")
	want := append([]string{"out"}, moces.Roles...)
	slices.Sort(want)
	if got := names(t, c, "/"); !slices.Equal(got, want) {
		t.Fatalf("roles while cut off: %v, want the last replica %v", got, want)
	}
	c.Close()
	if err := api.Replicate(ctx(t)); control.StatusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("replicate-now while cut off: %v, want 503", err)
	}
	if err := api.SetRoles(ctx(t), moces.Username, moces.Roles); control.StatusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("a role change through the gateway while cut off: %v, want 503", err)
	}

	// Restore: the change applies at the next (back-off) replication.
	link.setCut(false)
	api.Advance(ctx(t), time.Hour)
	c = h.login("moces")
	defer c.Close()
	if got := names(t, c, "/"); !slices.Equal(got, []string{"FTPSGW.Heartbeat", "out"}) {
		t.Fatalf("after the link came back: %v", got)
	}
}
