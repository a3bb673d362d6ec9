package simulator_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/certs"
)

func TestStateSurvivesRestart(t *testing.T) {
	cfg := testConfig(t)
	h := startWith(t, cfg)
	c := h.login("moces")
	if err := c.Upload("/FTPSGW.Heartbeat/persist_1.txt", []byte("one")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, "ready.json")); !os.IsNotExist(err) {
		t.Error("ready.json outlived the server")
	}
	h2 := startWith(t, cfg)
	c2 := h2.login("moces")
	if err := c2.Upload("/FTPSGW.Heartbeat/persist_1.txt", []byte("two")); err != nil {
		t.Fatal(err)
	}
	subs := h2.submissions("")
	if len(subs) != 2 || subs[0].Reused || !subs[1].Reused {
		t.Fatalf("after restart: %+v", subs)
	}
	data, err := h2.srv.Store().Content(ctx(t), cfg.Data, subs[0])
	if err != nil || string(data) != "one" {
		t.Fatalf("spooled file: %q %v", data, err)
	}
}

// A PKI replaced under the data folder (`ftpsgw pki init --force` into DATA/pki) leaves the
// registrations pinned to certificates nobody holds. The simulator's own PKI is registered
// again at the next start (logins with the new certificates and passwords work, roles kept);
// a PKI elsewhere is only reported, in one line with the fix.
func TestReplacedPKIIsRegisteredAgain(t *testing.T) {
	cfg := testConfig(t)
	cfg.PKI = "" // the simulator's own: DATA/pki, made at the first start
	h := startWith(t, cfg)
	old := h.identity("moces")
	if err := h.api().SetRoles(ctx(t), old.Username, []string{"FTPSGW.Heartbeat"}); err != nil {
		t.Fatal(err)
	}
	h.srv.Close()
	p, err := certs.NewPKI(certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certs.WriteDir(filepath.Join(cfg.Data, "pki"), p, true); err != nil {
		t.Fatal(err)
	}
	h2 := startWith(t, cfg)
	if h2.identity("moces").Fingerprint == old.Fingerprint {
		t.Fatal("the PKI was not replaced")
	}
	h2.login("moces") // the new certificate and password
	if !strings.Contains(h2.log.String(), "registered again with their new certificates") {
		t.Errorf("no log line about the re-registration:\n%s", grepLines(h2.log.String(), "PKI"))
	}
	regs, err := h2.api().Registrations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		if r.Username == old.Username && !slices.Equal(r.Roles, []string{"FTPSGW.Heartbeat"}) {
			t.Errorf("roles not kept: %v", r.Roles)
		}
	}

	// A PKI the simulator does not own: reported, not changed.
	h2.srv.Close()
	other := t.TempDir()
	if _, err := certs.WriteDir(other, p, false); err != nil {
		t.Fatal(err)
	}
	p2, _ := certs.NewPKI(certs.Options{})
	certs.WriteDir(other, p2, true)
	cfg.PKI = other
	h3 := startWith(t, cfg)
	line := grepLines(h3.log.String(), "registration(s) name certificates that are not in the PKI")
	if !strings.Contains(line, old.Username) || !strings.Contains(line, "POST /control/v1/registrations") {
		t.Errorf("no clear line about the stale registrations:\n%s", h3.log.String())
	}
}
