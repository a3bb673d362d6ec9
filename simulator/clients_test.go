package simulator_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

func TestDataConnectionsResumeTheControlSession(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.SessionReuse = simulator.ReuseRequired })
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/resume_1.txt", []byte("x")); err != nil {
		t.Fatalf("upload with a resuming client: %v", err)
	}
	for _, st := range c.DataTLS() {
		if !st.DidResume || st.Version != tls.VersionTLS12 {
			t.Errorf("data connection: resumed=%v version=%x", st.DidResume, st.Version)
		}
	}
	eventually(t, "a resumed data-tls event", func() bool {
		for _, e := range h.events(simulator.JournalQuery{Types: []simulator.EventType{simulator.EventDataTLS}}) {
			if e.OK && e.Resumed {
				return true
			}
		}
		return false
	})

	// A data connection with a full handshake (fresh session cache) is refused.
	r := h.rawLogin("moces")
	data, err := r.OpenData(ctx(t), false)
	if err != nil {
		t.Fatal(err)
	}
	fresh := h.options("moces").TLSConfig()
	tc := tls.Client(data, fresh)
	defer tc.Close()
	if code, _, _ := r.Cmd("STOR /FTPSGW.Heartbeat/resume_2.txt"); code != 150 {
		t.Fatalf("STOR: %d", code)
	}
	tc.Write([]byte("x"))
	tc.Close()
	if code, _, _ := r.ReadReply(); code < 400 {
		t.Fatalf("a data connection without resumption was accepted (%d)", code)
	}
	if _, ok := h.findEvent(simulator.EventDataTLS, "did not resume"); !ok {
		t.Error("no journal event says why")
	}

	// Another control connection's session (a stolen ticket) does not resume this one's.
	a := h.rawLogin("moces")
	b := h.rawLogin("voces")
	dataA, _ := a.OpenData(ctx(t), true) // a's client config: a's session cache
	code, _, _ := a.Cmd("LIST /")
	if code == 150 {
		buf := make([]byte, 512)
		dataA.Read(buf)
		dataA.Close()
		a.ReadReply()
	}
	dataB, err := b.OpenData(ctx(t), false)
	if err != nil {
		t.Fatal(err)
	}
	stolen := tls.Client(dataB, a.TLSConfig()) // a's session cache, b's data connection
	defer stolen.Close()
	if code, _, _ := b.Cmd("STOR /FTPSGW.Heartbeat/stolen_1.txt"); code != 150 {
		t.Fatalf("STOR: %d", code)
	}
	stolen.Write([]byte("x"))
	stolen.Close()
	if code, _, _ := b.ReadReply(); code < 400 {
		t.Fatalf("a data connection resuming another control connection's session was accepted (%d)", code)
	}
	if _, ok := h.findEvent(simulator.EventDataTLS, "ticket of another control connection"); !ok {
		t.Error("the journal does not name the stolen ticket")
	}
	for _, s := range h.submissions("") {
		if s.Name != "resume_1.txt" {
			t.Errorf("unexpected submission %s", s.Name)
		}
	}
}

func TestImplicitFTPS(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.ImplicitListen = "127.0.0.1:0" })
	opts := h.options("moces")
	opts.Addr, opts.Implicit = h.srv.Ready().Implicit, true
	c, err := ftpsclient.Dial(ctx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := h.identity("moces")
	if err := c.Login(id.Username, id.Password); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload("/FTPSGW.Heartbeat/implicit_1.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// Explicit and implicit sessions share the name registry.
	e := h.login("moces")
	if err := e.Upload("/FTPSGW.Heartbeat/implicit_1.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	subs := h.submissions(id.Username)
	if len(subs) != 2 || subs[0].Reused || !subs[1].Reused {
		t.Errorf("submissions %+v", subs)
	}
}

func TestCurlUploads(t *testing.T) {
	tool.Need(t, "curl", "curl")
	h := start(t, nil)
	id := h.identity("moces")
	file := filepath.Join(t.TempDir(), "ping_curl_1.txt")
	os.WriteFile(file, []byte("ping from curl\n"), 0o644)
	curl := func(extra ...string) ([]byte, error) {
		args := append([]string{"-sS", "--max-time", "20", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2",
			"--cacert", h.srv.Ready().CABundle, "--cert", h.m.Path(id.Cert), "--key", h.m.Path(id.Key),
			"--user", id.Username + ":" + id.Password}, extra...)
		return exec.CommandContext(ctx(t), "curl", args...).CombinedOutput()
	}
	if out, err := curl("-T", file, "ftp://"+h.srv.Ready().Control+"/FTPSGW.Heartbeat/"); err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	subs := h.submissions(id.Username)
	if len(subs) != 1 || subs[0].Name != "ping_curl_1.txt" || subs[0].Size != 15 {
		t.Fatalf("submissions %+v", subs)
	}
	// The .p12 file works too (curl reads PKCS#12 with --cert-type P12).
	if out, err := exec.CommandContext(ctx(t), "curl", "-sS", "--max-time", "20", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2",
		"--cacert", h.srv.Ready().CABundle, "--cert-type", "P12", "--cert", h.m.Path(id.P12)+":"+id.P12Password,
		"--user", id.Username+":"+id.Password, "--list-only", "ftp://"+h.srv.Ready().Control+"/").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "FTPSGW.Heartbeat") {
		t.Errorf("curl with .p12: %v\n%s", err, out)
	}
	// Without a certificate: refused.
	if out, err := exec.CommandContext(ctx(t), "curl", "-sS", "--max-time", "20", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2",
		"--cacert", h.srv.Ready().CABundle, "--user", id.Username+":"+id.Password, "-T", file,
		"ftp://"+h.srv.Ready().Control+"/FTPSGW.Heartbeat/ping_curl_2.txt").CombinedOutput(); err == nil {
		t.Errorf("curl without a certificate succeeded:\n%s", out)
	}
	// With another certificate's username: refused.
	voces := h.identity("voces")
	if out, err := curl("--user", voces.Username+":"+voces.Password, "-T", file,
		"ftp://"+h.srv.Ready().Control+"/FTPSGW.Heartbeat/ping_curl_3.txt"); err == nil {
		t.Errorf("curl with another certificate's username succeeded:\n%s", out)
	}
	if n := len(h.submissions("")); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
}

func TestLftpUploads(t *testing.T) {
	tool.Need(t, "lftp", "lftp")
	for _, reuse := range []simulator.ReuseMode{simulator.ReuseOff, simulator.ReuseRequired} {
		t.Run("session_reuse="+string(reuse), func(t *testing.T) {
			h := start(t, func(c *simulator.Config) { c.SessionReuse = reuse })
			id := h.identity("voces")
			dir := t.TempDir()
			file := filepath.Join(dir, "lftp_1.txt")
			os.WriteFile(file, bytes.Repeat([]byte("L"), 100_000), 0o644)
			host, port, _ := strings.Cut(h.srv.Ready().Control, ":")
			script := fmt.Sprintf(`set cmd:fail-exit true; set net:max-retries 1; set net:timeout 10;
set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:passive-mode true;
set ssl:ca-file %s; set ssl:cert-file %s; set ssl:key-file %s; set ssl:priority "NORMAL:-VERS-ALL:+VERS-TLS1.2";
open -u %s,%s -p %s ftp://%s; cd %s; put %s; cls -1 /`,
				h.srv.Ready().CABundle, h.m.Path(id.Cert), h.m.Path(id.Key), id.Username, id.Password, port, host,
				id.Roles[1], file)
			out, err := exec.CommandContext(ctx(t), "lftp", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("lftp: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "out") {
				t.Errorf("lftp listing: %s", out)
			}
			subs := h.submissions(id.Username)
			if len(subs) != 1 || subs[0].Size != 100_000 || subs[0].Service != id.Roles[1] {
				t.Fatalf("submissions %+v", subs)
			}
		})
	}
}
