package simulator_test

import (
	"os"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// uid_mapping: as4-client gives a UID's username as SKAT's AS4 client builds it (cut at the
// first dash); the PKI's registrations follow, and the full form is refused.
func TestUIDMappingAS4Client(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.UIDMapping = certs.UIDAS4Client })
	voces := h.identity("voces")
	if voces.Username != "CVR_19552101_UID_OCSP01-SYSTEMTEST-XXXIV" {
		t.Fatalf("fixture: %s", voces.Username)
	}
	if _, err := h.dialAs("voces", "CVR_19552101_UID_OCSP01", voces.Password); err != nil {
		t.Errorf("the AS4-client form was refused: %v", err)
	}
	if _, err := h.dialAs("voces", voces.Username, voces.Password); err == nil {
		t.Error("the full form was accepted under uid_mapping: as4-client")
	}
	h.login("moces") // a RID has no dash: unchanged
}

// Personal certificates are refused unless personal_usernames admits the PID; then the
// certificate registers and logs in under the configured username.
func TestPersonalCertificates(t *testing.T) {
	personal := sharedPKI(t)
	id, _ := personal.Lookup("personal")
	pem, err := os.ReadFile(personal.Path(id.Cert))
	if err != nil {
		t.Fatal(err)
	}
	reg := control.Registration{CertificatePEM: string(pem), Password: "a long test password", Roles: []string{"FTPSGW.Heartbeat"}}

	strict := start(t, nil)
	if _, err := strict.api().Register(ctx(t), reg); control.StatusOf(err) != 400 || !strings.Contains(err.Error(), "personal_usernames") {
		t.Errorf("registering a personal certificate by default: %v", err)
	}

	const username = "PID_9208-2002-2-123456789012"
	h := start(t, func(c *simulator.Config) { c.PersonalUsernames = map[string]string{id.ID: username} })
	got, err := h.api().Register(ctx(t), reg)
	if err != nil || got.Username != username {
		t.Fatalf("register: %+v %v", got, err)
	}
	c, err := h.dialAs("personal", username, reg.Password)
	if err != nil {
		t.Fatalf("login with the configured username: %v", err)
	}
	if err := c.Upload("/FTPSGW.Heartbeat/personal_1.txt", []byte("x")); err != nil {
		t.Errorf("upload: %v", err)
	}
	if _, err := h.dialAs("personal", "CVR_19552101_RID_60134540", reg.Password); err == nil {
		t.Error("a personal certificate logged in under another username")
	}
}
