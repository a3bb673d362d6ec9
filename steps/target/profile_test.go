package target

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadProfile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pki"), 0o755)
	// A CA file and a client certificate made by the project's own PKI.
	out, err := exec.Command("go", "run", "../../cmd/ftpsgw", "pki", "init", "--out", filepath.Join(dir, "pki")).CombinedOutput()
	if err != nil {
		t.Fatalf("pki init: %v\n%s", err, out)
	}
	t.Setenv("TEST_MOCES_PASSWORD", "s3cret")
	write := func(body string) string {
		p := filepath.Join(dir, "target.yaml")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	p, err := LoadProfile(write(`name: test
address: 127.0.0.1:6381
ca: pki/ca/bundle.pem
server_name: localhost
identities:
  - name: moces
    cert: pki/clients/moces/chain.pem
    key: pki/clients/moces/key.pem
    username: CVR_19552101_RID_60134540
    password: ${TEST_MOCES_PASSWORD}
    folders: [FTPSGW.Heartbeat]
timeouts:
  receipt: 5s
`))
	if err != nil {
		t.Fatal(err)
	}
	id, cert, ok := p.Identity("moces")
	if !ok || cert == nil || id.Password != "s3cret" || p.Mode != "explicit" || p.PassivePorts != "36000-39999" {
		t.Errorf("profile: %+v %v", id, p)
	}
	for _, tc := range []struct{ body, want string }{
		{"address: x:1\nca: pki/ca/bundle.pem\npassword: ${NOT_SET_ANYWHERE_123}\n", "NOT_SET_ANYWHERE_123"},
		{"address: x:1\nca: nope.pem\n", "ca"},
		{"ca: pki/ca/bundle.pem\n", "address is required"},
		{"address: x:1\nca: pki/ca/bundle.pem\nmode: sideways\n", "mode"},
		{"address: x:1\nca: pki/ca/bundle.pem\ncolour: red\n", "colour"},
		{"address: x:1\nca: pki/ca/bundle.pem\nidentities: [{name: a}]\n", "cert and key"},
		{"address: x:1\nca: pki/ca/bundle.pem\ntimeouts: {receipt: soon}\n", "duration"},
		{"address: x:1\nca: pki/ca/bundle.pem\ncontrol: {token: x}\n", "control.url"},
	} {
		if _, err := LoadProfile(write(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("profile %q: %v", tc.body, err)
		}
	}
}

// TestExampleProfileLoads keeps features/target.example.yaml usable: with its variables set
// and the dev PKI it points at in place, it loads.
func TestExampleProfileLoads(t *testing.T) {
	root := t.TempDir()
	pki := filepath.Join(root, "ftpsgw-data", "pki")
	if out, err := exec.Command("go", "run", "../../cmd/ftpsgw", "pki", "init", "--out", pki).CombinedOutput(); err != nil {
		t.Fatalf("pki init: %v\n%s", err, out)
	}
	example, err := os.ReadFile("../../features/target.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "features"), 0o755)
	path := filepath.Join(root, "features", "target.yaml")
	os.WriteFile(path, example, 0o644)
	for _, v := range []string{"MOCES_PASSWORD", "VOCES_PASSWORD", "FTPSGW_CONTROL_TOKEN"} {
		t.Setenv(v, "x")
	}
	if _, err := LoadProfile(path); err == nil || !strings.Contains(err.Error(), "VOCES_P12_PASSWORD") {
		t.Fatalf("an unset variable must be named: %v", err)
	}
	m, _ := os.ReadFile(filepath.Join(pki, "manifest.json"))
	var manifest struct {
		Identities []struct {
			Name        string `json:"name"`
			P12Password string `json:"p12_password"`
		}
	}
	_ = json.Unmarshal(m, &manifest)
	for _, id := range manifest.Identities {
		if id.Name == "voces" {
			t.Setenv("VOCES_P12_PASSWORD", id.P12Password)
		}
	}
	p, err := LoadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, cert, ok := p.Identity("voces"); !ok || cert == nil || p.Control == nil {
		t.Errorf("example profile: %+v", p)
	}
}

// TestOversizedProfileSaysItIsAProfile: a profile over the size bound is reported as a
// profile that is too large, not as a certificate that is not one.
func TestOversizedProfileSaysItIsAProfile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "target.yaml")
	if err := os.WriteFile(p, []byte("name: x\n"+strings.Repeat("# padding\n", MaxProfileSize/10+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadProfile(p)
	if err == nil || !strings.Contains(err.Error(), "not a target profile") || strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an oversized profile: %v", err)
	}
}
