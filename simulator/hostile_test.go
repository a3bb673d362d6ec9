package simulator_test

// Rows of the hostile-input catalogue in docs/SECURITY.md that no other test covers. Each
// sends what a hostile client would, checks the answer, and checks that nothing else changed
// (data folder, submissions) and that the server still serves.

import (
	"crypto/tls"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// stillServes logs in on a fresh connection: the server survived whatever came before.
func (h *harness) stillServes() {
	h.t.Helper()
	c := h.login("moces")
	defer c.Close()
	if err := c.NoOp(); err != nil {
		h.t.Fatalf("the server no longer serves: %v", err)
	}
}

func TestCommandsBeforeLoginAndOutOfOrder(t *testing.T) {
	h := start(t, nil)
	h.stillServes() // creates moces's /out folder, so the snapshot below is the steady state
	before := snapshot(t, h.srv.DataDir())
	// Before AUTH TLS: nothing gets anywhere. (ftpserverlib answers PBSZ and PROT with 200 even
	// in clear; they change nothing, and USER is still refused until AUTH TLS.)
	for _, cmd := range []string{"PASV", "EPSV", "LIST", "STOR x.txt", "RETR /out/x", "CWD /out", "PBSZ 0", "PROT P", "SITE CHMOD 777 /"} {
		r, err := ftpsclient.DialRaw(ctx(t), h.options("moces"))
		if err != nil {
			t.Fatal(err)
		}
		code, msg, _ := r.Cmd("%s", cmd)
		ucode, _, _ := r.Cmd("USER %s", h.identity("moces").Username)
		r.Close()
		if (code < 500 && !strings.HasPrefix(cmd, "PBSZ") && !strings.HasPrefix(cmd, "PROT")) || ucode != 530 {
			t.Errorf("before AUTH TLS, %q answered %d %s (then USER %d)", cmd, code, msg, ucode)
		}
	}
	// After AUTH TLS, before login.
	r, _ := h.raw("moces")
	defer r.Close()
	for _, cmd := range []string{"PASV", "EPSV", "LIST /", "STOR /FTPSGW.Heartbeat/x.txt", "RETR /out/x", "CWD /out", "DELE /out/x", "MKD /x", "SIZE /out", "STAT /"} {
		if code, msg, _ := r.Cmd("%s", cmd); code < 500 {
			t.Errorf("before login, %q answered %d %s", cmd, code, msg)
		}
	}
	// Out of order: PASS before USER, RNTO without RNFR, a transfer without PASV.
	if code, msg, _ := r.Cmd("PASS secret"); code == 230 || code < 400 {
		t.Errorf("PASS before USER answered %d %s", code, msg)
	}
	lr := h.rawLogin("moces")
	defer lr.Close()
	if code, msg, _ := lr.Cmd("RNTO /FTPSGW.Heartbeat/y.txt"); code < 500 {
		t.Errorf("RNTO without RNFR answered %d %s", code, msg)
	}
	if code, msg, _ := lr.Cmd("STOR /FTPSGW.Heartbeat/nopasv_1.txt"); code < 400 {
		t.Errorf("STOR without a data connection answered %d %s", code, msg)
	}
	if code, msg, _ := lr.Cmd("USER %s", h.identity("voces").Username); code == 230 || code == 331 && strings.Contains(msg, "voces") {
		t.Errorf("a second USER in a logged-in session answered %d %s", code, msg)
	}
	if after := snapshot(t, h.srv.DataDir()); !slices.Equal(before, after) {
		t.Errorf("the data folder changed:\n%v\n%v", before, after)
	}
	h.stillServes()
}

func TestBounceAndEPRTVariantsRefused(t *testing.T) {
	h := start(t, nil)
	r := h.rawLogin("moces")
	defer r.Close()
	// A listener that would see any connection the server opens on a client's behalf.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	hit := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			hit <- struct{}{}
		}
	}()
	for _, cmd := range []string{
		"PORT 192,0,2,1,0,21", "PORT 127,0,0,1," + itoa(port/256) + "," + itoa(port%256), "PORT 10,0,0,1,0,25", "PORT 999,1,1,1,1,1", "PORT ,,,,,",
		"EPRT |1|192.0.2.1|21|", "EPRT |2|::1|" + itoa(port) + "|", "EPRT |1|127.0.0.1|" + itoa(port) + "|", "EPRT |3|x|1|", "EPRT ||||", "EPRT |1|127.0.0.1|99999|",
	} {
		code, msg, err := r.Cmd("%s", cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if code < 400 {
			t.Errorf("%q answered %d %s", cmd, code, msg)
		}
	}
	if code, _, _ := r.Cmd("LIST /"); code < 400 {
		t.Errorf("LIST after PORT attempts answered %d", code)
	}
	select {
	case <-hit:
		t.Fatal("the server connected to the address a PORT/EPRT named (FTP bounce)")
	case <-time.After(300 * time.Millisecond):
	}
	h.stillServes()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestOversizeAndBinaryCommandLines(t *testing.T) {
	h := start(t, nil)
	h.stillServes()
	before := snapshot(t, h.srv.DataDir())
	for _, line := range []string{
		strings.Repeat("A", 5000),
		"STOR /FTPSGW.Heartbeat/" + strings.Repeat("n", 70000) + ".txt",
		"CWD /out/\x00x",
		"STOR /FTPSGW.Heartbeat/a\x00b.txt",
		"STOR /FTPSGW.Heartbeat/\xff\xfe.txt",
		"RETR /out/\x1b[31m.txt",
		"NOOP\rUSER x",
		"\xc3\x28\xa0\xa1",
	} {
		r := h.rawLogin("moces")
		code, msg, err := r.Cmd("%s", line)
		r.Close()
		if err == nil && code > 0 && code < 400 && !strings.HasPrefix(line, "NOOP") {
			t.Errorf("%q answered %d %s", trim(line), code, msg)
		}
	}
	// The library cleans a path before the view sees it: "/out\x00/../.." is "/", still inside.
	r := h.rawLogin("moces")
	if code, _, _ := r.Cmd("CWD /out\x00/../.."); code == 250 {
		if _, msg, _ := r.Cmd("PWD"); !strings.Contains(msg, `"/"`) {
			t.Errorf("CWD with a NUL and .. left the view: PWD %s", msg)
		}
	}
	r.Close()
	// A 10 MB USER line: the library closes the connection (no hook lets it reply); the
	// journal says why.
	r = h.rawLogin("moces")
	if _, _, err := r.Cmd("USER %s", strings.Repeat("u", 10<<20)); err == nil {
		t.Error("a 10 MB command line was answered")
	}
	r.Close()
	eventually(t, "the over-long line in the journal", func() bool {
		_, ok := h.findEvent(simulator.EventDisconnect, "a command line longer than 4096 bytes")
		return ok
	})
	if after := snapshot(t, h.srv.DataDir()); !slices.Equal(before, after) {
		t.Errorf("the data folder changed:\n%v\n%v", before, after)
	}
	if subs := h.submissions(h.identity("moces").Username); len(subs) != 0 {
		t.Errorf("uploads were recorded: %v", subs)
	}
	h.stillServes()
}

func trim(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func TestCertificateOfAnotherCVRThanTheUsername(t *testing.T) {
	h := start(t, nil)
	other := h.identity("other-company")
	// moces's certificate (CVR 19552101) with other-company's username and password.
	r, _ := h.raw("moces")
	defer r.Close()
	code, msg, _ := r.Login(other.Username, other.Password)
	if code != 530 || !strings.Contains(msg, "does not belong") {
		t.Fatalf("certificate of CVR 19552101 with the username of CVR %s: %d %q", other.CVR, code, msg)
	}
	h.stillServes()
}

// TestTLSRenegotiationRefused: a client-initiated renegotiation (openssl s_client's "R") must
// not be honoured; Go's TLS server refuses it and the session goes on or ends, never hangs.
func TestTLSRenegotiationRefused(t *testing.T) {
	tool.Need(t, "openssl", "openssl")
	h := start(t, nil)
	id := h.identity("moces")
	cmd := exec.CommandContext(ctx(t), "openssl", "s_client", "-connect", h.srv.Ready().Control, "-starttls", "ftp", "-tls1_2",
		"-cert", h.m.Path(id.Chain), "-key", h.m.Path(id.Key), "-CAfile", h.m.Path(h.m.CA.Bundle), "-servername", "localhost")
	cmd.Stdin = strings.NewReader("R\nNOOP\n")
	out, _ := cmd.CombinedOutput()
	s := string(out)
	if !strings.Contains(s, "RENEGOTIATING") {
		t.Skipf("this openssl did not attempt a renegotiation:\n%s", s)
	}
	if strings.Contains(s, "200 ") && !strings.Contains(strings.ToLower(s), "alert") && !strings.Contains(s, "errno") && !strings.Contains(s, "error") {
		t.Errorf("the server seems to have renegotiated and gone on:\n%s", s)
	}
	h.stillServes()
}

// stealingCache records the sessions a client is given and, once armed, offers a stolen one
// on every later connection (the data connections of the victim's session).
type stealingCache struct {
	mu     sync.Mutex
	last   *tls.ClientSessionState
	stolen *tls.ClientSessionState
	armed  bool
}

func (c *stealingCache) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed && c.stolen != nil {
		return c.stolen, true
	}
	return c.last, c.last != nil
}

func (c *stealingCache) Put(_ string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil && !c.armed {
		c.last = cs
	}
}

// TestStolenTicketOfAnotherIdentity: a data connection that presents a TLS session ticket
// issued to another identity's session is never resumed into this one.
func TestStolenTicketOfAnotherIdentity(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.SessionReuse = simulator.ReuseRequired })
	// voces logs in and lists once: the cache now holds a ticket the server issued to voces.
	victim := &stealingCache{}
	vo := h.options("voces")
	vo.SessionCache = victim
	vc, err := ftpsclient.Dial(ctx(t), vo)
	if err != nil {
		t.Fatal(err)
	}
	vid := h.identity("voces")
	if err := vc.Login(vid.Username, vid.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.List("/"); err != nil {
		t.Fatal(err)
	}
	vc.Close()
	victim.mu.Lock()
	stolen := victim.last
	victim.mu.Unlock()
	if stolen == nil {
		t.Fatal("voces's client was given no session ticket")
	}
	// moces's control connection does a full handshake; its data connections offer voces's ticket.
	thief := &stealingCache{stolen: stolen}
	mo := h.options("moces")
	mo.SessionCache = thief
	mc, err := ftpsclient.Dial(ctx(t), mo)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	mid := h.identity("moces")
	if err := mc.Login(mid.Username, mid.Password); err != nil {
		t.Fatal(err)
	}
	thief.mu.Lock()
	thief.armed = true
	thief.mu.Unlock()
	_, err = mc.List("/")
	for _, st := range mc.DataTLS() {
		if st.DidResume {
			t.Fatal("a data connection resumed a session from another identity's ticket")
		}
	}
	// With session_reuse: required the data connection that did not resume is refused.
	if err == nil {
		t.Fatal("LIST over a data connection with another identity's ticket succeeded under session_reuse: required")
	}
	h.stillServes()
}
