package simulator_test

import (
	"crypto/tls"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

func TestOnlyTLS12IsAccepted(t *testing.T) {
	h := start(t, nil)
	for _, tc := range []struct {
		name     string
		min, max uint16
		ok       bool
	}{
		{"TLS1.0", tls.VersionTLS10, tls.VersionTLS10, false},
		{"TLS1.1", tls.VersionTLS11, tls.VersionTLS11, false},
		{"TLS1.2", tls.VersionTLS12, tls.VersionTLS12, true},
		{"TLS1.3", tls.VersionTLS13, tls.VersionTLS13, false},
		{"TLS1.2-1.3 offered", tls.VersionTLS12, tls.VersionTLS13, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := h.options("moces")
			opts.MinVersion, opts.MaxVersion = tc.min, tc.max
			r, err := ftpsclient.DialRaw(ctx(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			st, err := r.AuthTLS(ctx(t))
			if tc.ok {
				if err != nil || st.Version != tls.VersionTLS12 {
					t.Fatalf("handshake: version %x, err %v", st.Version, err)
				}
				if !strings.Contains(tls.CipherSuiteName(st.CipherSuite), "GCM") && !strings.Contains(tls.CipherSuiteName(st.CipherSuite), "CHACHA20") {
					t.Errorf("negotiated a non-AEAD suite %s", tls.CipherSuiteName(st.CipherSuite))
				}
				return
			}
			if err == nil {
				t.Fatalf("%s handshake succeeded with version %x", tc.name, st.Version)
			}
		})
	}
}

func TestNonAEADCipherSuitesRefused(t *testing.T) {
	h := start(t, nil)
	opts := h.options("moces")
	// Only CBC suites offered: the server must not agree.
	cfg := opts.TLSConfig()
	cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}
	probe, err := ftpsclient.DialRaw(ctx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if _, err := probe.AuthTLSWith(ctx(t), cfg); err == nil {
		t.Fatal("handshake with only CBC suites succeeded")
	}
}

func TestClientCertificatesRefusedInHandshake(t *testing.T) {
	h := start(t, nil)
	for _, tc := range []struct{ identity, reason string }{
		{"", "no client certificate"},
		{"expired", "expired"},
		{"not-yet-valid", "not yet valid"},
		{"foreign-ca", "unknown CA"},
		{"revoked", "revoked"},
		{"wrong-key-usage", "key usage"},
	} {
		name := tc.identity
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			r, err := ftpsclient.DialRaw(ctx(t), h.options(tc.identity))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = r.AuthTLS(ctx(t))
			if err == nil {
				// TLS 1.2: the client may finish before it reads the server's alert.
				code, msg, cmdErr := r.Cmd("USER %s", "CVR_19552101_RID_90000001")
				if cmdErr == nil {
					t.Fatalf("handshake accepted; USER answered %d %s", code, msg)
				}
			}
			eventually(t, "a refused tls journal event", func() bool {
				e, ok := h.findEvent(simulator.EventTLS, tc.reason)
				return ok && !e.OK
			})
		})
	}
}

func TestLoginRequiresCertificateAndPassword(t *testing.T) {
	h := start(t, nil)
	moces, voces := h.identity("moces"), h.identity("voces")
	for _, tc := range []struct {
		name, cert, user, pass string
		code                   int
		reason                 string
	}{
		{"good", "moces", moces.Username, moces.Password, 230, ""},
		{"wrong password", "moces", moces.Username, "not-the-password", 530, "wrong password"},
		{"empty password", "moces", moces.Username, "", 530, "wrong password"},
		{"another certificate's username", "moces", voces.Username, voces.Password, 530, "does not belong"},
		{"not a username", "moces", "anonymous", "x", 530, "not a gateway username"},
		{"personal certificate", "personal", "CVR_19552101_RID_60134540", moces.Password, 530, "personal certificate"},
		{"username in other case", "moces", strings.ToLower(moces.Username), moces.Password, 530, "not a gateway username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := h.raw(tc.cert)
			code, msg, err := r.Login(tc.user, tc.pass)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(msg, tc.reason) {
				t.Fatalf("got %d %q, want %d containing %q", code, msg, tc.code, tc.reason)
			}
		})
	}
}

func TestPlainUSERBeforeAUTHIsRefused(t *testing.T) {
	h := start(t, nil)
	r, err := ftpsclient.DialRaw(ctx(t), h.options("moces"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id := h.identity("moces")
	code, msg, err := r.Cmd("USER %s", id.Username)
	if err != nil || code != 530 || !strings.Contains(msg, "AUTH TLS") {
		t.Fatalf("plain USER: %d %q %v", code, msg, err)
	}
	// The server disconnects: nothing more is accepted in clear.
	if code, _, err := r.Cmd("PASS %s", id.Password); err == nil && code == 230 {
		t.Fatal("login in clear succeeded")
	}
}

func TestUnregisteredAndReplacedCertificates(t *testing.T) {
	h := start(t, nil)
	moces := h.identity("moces")
	store := h.srv.Store()
	if err := store.DeleteRegistration(ctx(t), moces.Username); err != nil {
		t.Fatal(err)
	}
	r, _ := h.raw("moces")
	if code, msg, _ := r.Login(moces.Username, moces.Password); code != 530 || !strings.Contains(msg, "not registered") {
		t.Fatalf("unregistered: %d %q", code, msg)
	}
	// Registered with another certificate (e.g. before a renewal): this one is refused.
	reg := simulator.Registration{Username: moces.Username, CVR: moces.CVR, Fingerprint: strings.Repeat("ab", 32), Roles: moces.Roles}
	if err := store.PutRegistration(ctx(t), reg, moces.Password, time.Now()); err != nil {
		t.Fatal(err)
	}
	r2, _ := h.raw("moces")
	if code, msg, _ := r2.Login(moces.Username, moces.Password); code != 530 || !strings.Contains(msg, "not the one registered") {
		t.Fatalf("other certificate registered: %d %q", code, msg)
	}
}

func TestFailedLoginsLockOut(t *testing.T) {
	h := start(t, func(c *simulator.Config) {
		c.Login.MaxFailures = 3
		c.Login.Lockout = simulator.Duration(time.Hour)
	})
	moces := h.identity("moces")
	for i := 0; i < 3; i++ {
		r, _ := h.raw("moces")
		if code, _, _ := r.Login(moces.Username, "guess"); code != 530 {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	r, _ := h.raw("moces")
	code, msg, _ := r.Login(moces.Username, moces.Password)
	if code != 530 || !strings.Contains(msg, "too many failed logins") {
		t.Fatalf("after 3 failures the right password gave %d %q", code, msg)
	}
	// The address is locked too: another identity from the same address is refused.
	voces := h.identity("voces")
	r2, _ := h.raw("voces")
	if code, msg, _ := r2.Login(voces.Username, voces.Password); code != 530 || !strings.Contains(msg, "too many failed logins") {
		t.Fatalf("same address, other identity: %d %q", code, msg)
	}
}

func TestPasswordNeverInJournalOrLog(t *testing.T) {
	h := start(t, nil)
	moces := h.identity("moces")
	c := h.login("moces")
	c.Close()
	r, _ := h.raw("moces")
	r.Login(moces.Username, "WrongSecret123")
	eventually(t, "the journal has the PASS commands", func() bool {
		n := 0
		for _, e := range h.events(simulator.JournalQuery{Types: []simulator.EventType{simulator.EventCommand}}) {
			if strings.HasPrefix(e.Line, "PASS") {
				n++
			}
		}
		return n >= 2
	})
	for _, e := range h.events(simulator.JournalQuery{}) {
		for _, s := range []string{e.Line, e.Reason} {
			if strings.Contains(s, moces.Password) || strings.Contains(s, "WrongSecret123") {
				t.Fatalf("journal event %d holds a password: %+v", e.Seq, e)
			}
		}
	}
	if log := h.log.String(); strings.Contains(log, moces.Password) || strings.Contains(log, "WrongSecret123") {
		t.Fatal("the server log holds a password")
	}
}

func TestJournalRecordsTLSAndCommands(t *testing.T) {
	h := start(t, nil)
	c := h.login("moces")
	if err := c.ChangeDir("/FTPSGW.Heartbeat"); err != nil {
		t.Fatal(err)
	}
	user := h.identity("moces").Username
	var tlsEv, login, cwdReply bool
	eventually(t, "journal entries", func() bool {
		for _, e := range h.events(simulator.JournalQuery{}) {
			switch {
			case e.Type == simulator.EventTLS && e.OK && e.TLSVersion == "TLS1.2" && e.Cipher != "" && len(e.Fingerprint) == 64 &&
				e.Identity == "CVR:19552101-RID:60134540":
				tlsEv = true
			case e.Type == simulator.EventLogin && e.OK && e.Username == user:
				login = true
			case e.Type == simulator.EventReply && e.Code == 250 && e.Username == user:
				cwdReply = true
			}
		}
		return tlsEv && login && cwdReply
	})
	if got := h.events(simulator.JournalQuery{Username: "nobody"}); len(got) != 0 {
		t.Errorf("query by unknown username returned %d events", len(got))
	}
}

// TestExternalTLSProbes uses the tools users have: openssl s_client and curl.
func TestExternalTLSProbes(t *testing.T) {
	h := start(t, nil)
	id := h.identity("moces")
	tool.Need(t, "openssl", "openssl")
	{
		for _, v := range []string{"-tls1_1", "-tls1_3"} {
			cmd := exec.CommandContext(ctx(t), "openssl", "s_client", "-starttls", "ftp", "-connect", h.srv.Ready().Control, v,
				"-cert", h.m.Path(id.Cert), "-key", h.m.Path(id.Key), "-CAfile", h.srv.Ready().CABundle)
			cmd.Stdin = strings.NewReader("QUIT\r\n")
			out, _ := cmd.CombinedOutput()
			if strings.Contains(string(out), "Cipher is ECDHE") || strings.Contains(string(out), "Protocol  : TLSv1.3") {
				t.Errorf("openssl s_client %s negotiated:\n%s", v, out)
			}
		}
		cmd := exec.CommandContext(ctx(t), "openssl", "s_client", "-starttls", "ftp", "-connect", h.srv.Ready().Control, "-tls1_2",
			"-cert", h.m.Path(id.Cert), "-key", h.m.Path(id.Key), "-CAfile", h.srv.Ready().CABundle)
		cmd.Stdin = strings.NewReader("QUIT\r\n")
		if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "Protocol  : TLSv1.2") {
			t.Errorf("openssl s_client -tls1_2 failed:\n%s", out)
		}
	}
	tool.Need(t, "curl", "curl")
	out, err := exec.CommandContext(ctx(t), "curl", "-sS", "--max-time", "15", "--ssl-reqd", "--tlsv1.3",
		"--cacert", h.srv.Ready().CABundle, "--cert", h.m.Path(id.Cert), "--key", h.m.Path(id.Key),
		"--user", id.Username+":"+id.Password, "ftp://"+h.srv.Ready().Control+"/").CombinedOutput()
	if err == nil {
		t.Errorf("curl --tlsv1.3 succeeded:\n%s", out)
	}
}

// While an impostor certificate is armed the gateway presents it: a client that checks the
// gateway refuses it before sending anything, and the journal says so; a client that checks
// nothing logs in, and the journal shows that it accepted the impostor.
func TestImpostorCertificates(t *testing.T) {
	h := start(t, nil)
	api := h.api()
	if err := api.SetFaults(ctx(t), control.Faults{ServerCertificate: "self-signed"}); control.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("an unknown impostor: %v, want 400", err)
	}
	for _, tc := range []struct{ name, wantErr string }{
		{control.ImpostorForeignCA, "certificate signed by unknown authority"},
		{control.ImpostorWrongHost, "x509: cannot validate certificate for 127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := api.SetFaults(ctx(t), control.Faults{ServerCertificate: tc.name}); err != nil {
				t.Fatal(err)
			}
			if f, err := api.Faults(ctx(t)); err != nil || f.ServerCertificate != tc.name {
				t.Fatalf("faults %+v, %v", f, err)
			}
			before := len(h.events(simulator.JournalQuery{}))
			opts := h.options("moces")
			opts.ServerName = "127.0.0.1"
			id := h.identity("moces")
			c, err := ftpsclient.Dial(ctx(t), opts) // the handshake runs at the first command after AUTH TLS
			if err == nil {
				err = c.Login(id.Username, id.Password)
				c.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("a verifying client: %v, want %q", err, tc.wantErr)
			}
			eventually(t, "the failed handshake in the journal", func() bool {
				for _, e := range h.events(simulator.JournalQuery{})[before:] {
					if e.Type == simulator.EventTLS && !e.OK && strings.Contains(e.Reason, "did not accept the gateway's certificate (the impostor certificate "+tc.name+")") {
						return true
					}
				}
				return false
			})
			opts.InsecureSkipVerify = true
			c, err = ftpsclient.Dial(ctx(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(id.Username, id.Password); err != nil {
				t.Fatalf("login through the impostor: %v", err)
			}
			if _, ok := h.findEvent(simulator.EventTLS, "accepted the impostor certificate "+tc.name); !ok {
				t.Error("the journal does not show the client accepting the impostor")
			}
		})
	}
	if err := api.Reset(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if f, _ := api.Faults(ctx(t)); f.ServerCertificate != "" {
		t.Errorf("reset kept the impostor %q", f.ServerCertificate)
	}
	h.login("moces") // the genuine certificate again
}
