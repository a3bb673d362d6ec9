package certs

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
	"software.sslmate.com/src/go-pkcs12"
)

// One PKI per test binary: issuing keys is the slow part.
var (
	sharedOnce     sync.Once
	sharedManifest *Manifest
	sharedErr      error
	sharedDir      string
)

func testManifest(t *testing.T) *Manifest {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "ftpsgw-certs-test-")
		if sharedErr != nil {
			return
		}
		var p *PKI
		if p, sharedErr = NewPKI(Options{ServerNames: []string{"gateway.test", "10.9.8.7"}}); sharedErr != nil {
			return
		}
		sharedManifest, sharedErr = WriteDir(filepath.Join(sharedDir, "pki"), p, false)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedManifest
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

func verifyClient(m *Manifest, id ManifestIdentity, at time.Time) error {
	cert, err := ReadCertificateFile(m.Path(id.Cert), "")
	if err != nil {
		return err
	}
	root, _ := LoadCAPool(m.Path(m.CA.Root))
	inter, _ := LoadCAPool(m.Path(m.CA.Issuing))
	_, err = cert.Verify(x509.VerifyOptions{Roots: root, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

func TestManifestIdentities(t *testing.T) {
	m := testManifest(t)
	loaded, err := LoadManifest(m.Dir())
	if err != nil {
		t.Fatal(err)
	}
	byCVR := map[string]int{}
	for _, id := range loaded.Identities {
		cert, err := ReadCertificateFile(loaded.Path(id.Cert), "")
		if err != nil {
			t.Fatalf("%s: %v", id.Name, err)
		}
		got, err := FromCertificate(cert)
		if id.Kind == KindPID {
			if !errors.Is(err, ErrPersonalCertificate) || id.CanLogin || id.Username != "" {
				t.Errorf("personal: err=%v can_login=%v username=%q", err, id.CanLogin, id.Username)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", id.Name, err)
		}
		if got.Username() != id.Username || id.Password == "" {
			t.Errorf("%s: certificate says %q, manifest %q (password set: %v)", id.Name, got.Username(), id.Username, id.Password != "")
		}
		if Fingerprint(cert) != id.Fingerprint {
			t.Errorf("%s: fingerprint mismatch", id.Name)
		}
		verr := verifyClient(loaded, id, time.Now())
		if id.CanLogin {
			byCVR[id.CVR]++
			if verr != nil {
				t.Errorf("%s: good certificate does not verify: %v", id.Name, verr)
			}
			if len(id.Roles) == 0 {
				t.Errorf("%s: no roles", id.Name)
			}
		} else if id.Defect != DefectRevoked && verr == nil {
			// A revoked certificate verifies as a chain; only the CRL refuses it (next test).
			t.Errorf("%s: negative fixture (%s) verifies", id.Name, id.Defect)
		}
	}
	if byCVR["19552101"] < 2 {
		t.Errorf("want at least two login-capable certificates sharing CVR 19552101, got %d", byCVR["19552101"])
	}
	moces, _ := loaded.Lookup("moces")
	if moces.Username != "CVR_19552101_RID_60134540" {
		t.Errorf("moces username %q", moces.Username)
	}
}

func TestCRLListsRevoked(t *testing.T) {
	m := testManifest(t)
	crl, err := LoadCRL(m.Path(m.CA.CRL))
	if err != nil {
		t.Fatal(err)
	}
	issuing, _ := ReadCertificateFile(m.Path(m.CA.Issuing), "")
	if err := crl.CheckSignatureFrom(issuing); err != nil {
		t.Fatalf("CRL not signed by the issuing CA: %v", err)
	}
	revoked, _ := m.Lookup("revoked")
	rc, _ := ReadCertificateFile(m.Path(revoked.Cert), "")
	good, _ := m.Lookup("moces")
	gc, _ := ReadCertificateFile(m.Path(good.Cert), "")
	var found bool
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(gc.SerialNumber) == 0 {
			t.Error("a good certificate is listed in the CRL")
		}
		found = found || e.SerialNumber.Cmp(rc.SerialNumber) == 0
	}
	if !found {
		t.Error("the revoked certificate is not in the CRL")
	}
}

func TestP12RoundTrip(t *testing.T) {
	m := testManifest(t)
	for _, id := range m.Identities {
		data, err := os.ReadFile(m.Path(id.P12))
		if err != nil {
			t.Fatal(err)
		}
		key, cert, chain, err := pkcs12.DecodeChain(data, id.P12Password)
		if err != nil || key == nil || len(chain) == 0 {
			t.Fatalf("%s.p12: key=%v chain=%d err=%v", id.Name, key != nil, len(chain), err)
		}
		if Fingerprint(cert) != id.Fingerprint {
			t.Errorf("%s.p12 holds another certificate", id.Name)
		}
		if _, err := ReadCertificateFile(m.Path(id.P12), "wrong"); !errors.Is(err, ErrP12Password) {
			t.Errorf("%s.p12 with a wrong password: %v", id.Name, err)
		}
	}
}

func TestWriteDirRefusesToOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	small := []ClientSpec{{Name: "a", Identity: Identity{"19552101", KindRID, "1"}, CommonName: "A", OrgName: "A"}}
	p, err := NewPKI(Options{Clients: small})
	if err != nil {
		t.Fatal(err)
	}
	first, err := WriteDir(dir, p, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteDir(dir, p, false); !errors.Is(err, ErrExists) {
		t.Fatalf("second write without force: %v", err)
	}
	second, err := WriteDir(dir, p, true)
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := first.Lookup("a")
	a2, _ := second.Lookup("a")
	if a1.Password == a2.Password {
		t.Error("--force kept the old password; the PKI was not replaced")
	}
	// A folder with other content is never replaced, even with force.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "precious.txt"), []byte("x"), 0o644)
	if _, err := WriteDir(other, p, true); !errors.Is(err, ErrExists) {
		t.Fatalf("write into a foreign folder with force: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Fatal("foreign folder content was touched")
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".pki.new-") {
			t.Errorf("temporary folder %s left behind", e.Name())
		}
	}
}

func TestRSAPSS(t *testing.T) {
	if testing.Short() {
		t.Skip("RSA 3072 key generation takes seconds; skipped with -short")
	}
	p, err := NewPKI(Options{Algorithm: KeyRSAPSS, Clients: []ClientSpec{DefaultClients()[4]}})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Clients[0].Cert
	if c.SignatureAlgorithm != x509.SHA256WithRSAPSS {
		t.Errorf("signature algorithm %v", c.SignatureAlgorithm)
	}
	if _, err := NewPKI(Options{Algorithm: "dsa"}); err == nil {
		t.Error("unknown algorithm accepted")
	}
}

func TestRSA(t *testing.T) {
	p, err := NewPKI(Options{Algorithm: KeyRSA, Clients: []ClientSpec{DefaultClients()[0]}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{p.Clients[0].Cert, p.Server.Cert, p.Issuing.Cert} {
		if c.SignatureAlgorithm != x509.SHA256WithRSA || c.PublicKeyAlgorithm != x509.RSA {
			t.Errorf("%s: signature %v, key %v", c.Subject.CommonName, c.SignatureAlgorithm, c.PublicKeyAlgorithm)
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("%s: not an RSA 2048 key", c.Subject.CommonName)
		}
	}
	if _, err := ParseKeyAlgorithm("rsa4096"); err == nil || !strings.Contains(err.Error(), `"rsa-pss"`) {
		t.Errorf("unknown algorithm: %v", err)
	}
}

// A correct client refuses both impostor certificates when it connects to the gateway's
// address and trusts only the CA bundle; each is otherwise a valid server certificate.
func TestImpostorCertificates(t *testing.T) {
	m := testManifest(t)
	pool, err := m.CAPool()
	if err != nil {
		t.Fatal(err)
	}
	imps, err := m.ImpostorCertificates()
	if err != nil || len(imps) != 2 {
		t.Fatalf("impostors %v, %v", len(imps), err)
	}
	verify := func(c tls.Certificate, host string, roots *x509.CertPool) error {
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		inter := x509.NewCertPool()
		for _, der := range c.Certificate[1:] {
			ic, _ := x509.ParseCertificate(der)
			inter.AddCert(ic)
		}
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
		return err
	}
	genuine, err := m.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if err := verify(genuine, host, pool); err != nil {
			t.Errorf("the genuine certificate for %s: %v", host, err)
		}
		var unknown x509.UnknownAuthorityError
		if err := verify(imps[ImpostorForeignCA], host, pool); !errors.As(err, &unknown) {
			t.Errorf("foreign-ca for %s: %v, want unknown authority", host, err)
		}
		var wrongHost x509.HostnameError
		if err := verify(imps[ImpostorWrongHost], host, pool); !errors.As(err, &wrongHost) {
			t.Errorf("wrong-host for %s: %v, want a host name error", host, err)
		}
	}
	if err := verify(imps[ImpostorWrongHost], ImpostorHostName, pool); err != nil {
		t.Errorf("wrong-host for its own name: %v", err)
	}
	foreign, _ := LoadCAPool(m.Path(m.CA.ForeignRoot))
	if err := verify(imps[ImpostorForeignCA], "127.0.0.1", foreign); err != nil {
		t.Errorf("foreign-ca under its own CA: %v", err)
	}
}

// TestOpenSSLInterop checks the files with the tool users have: openssl.
func TestOpenSSLInterop(t *testing.T) {
	tool.Need(t, "openssl", "openssl")
	m := testManifest(t)
	run := func(args ...string) (string, error) {
		out, err := exec.Command("openssl", args...).CombinedOutput()
		return string(out), err
	}
	moces, _ := m.Lookup("moces")
	out, err := run("x509", "-noout", "-subject", "-in", m.Path(moces.Cert))
	if err != nil || !strings.Contains(out, "serialNumber = CVR:19552101-RID:60134540") {
		t.Errorf("openssl x509 -subject: %v\n%s", err, out)
	}
	for _, id := range m.Identities {
		if out, err := run("pkcs12", "-in", m.Path(id.P12), "-passin", "pass:"+id.P12Password, "-nokeys"); err != nil {
			t.Errorf("openssl pkcs12 %s: %v\n%s", id.Name, err, out)
		}
	}
	verify := func(name string, crl bool) error {
		id, _ := m.Lookup(name)
		args := []string{"verify", "-CAfile", m.Path(m.CA.Root), "-untrusted", m.Path(m.CA.Issuing)}
		if crl {
			args = append(args, "-crl_check", "-CRLfile", m.Path(m.CA.CRL))
		}
		_, err := run(append(args, m.Path(id.Cert))...)
		return err
	}
	for _, good := range []string{"moces", "voces", "oces3-org"} {
		if err := verify(good, true); err != nil {
			t.Errorf("openssl verify rejects %s: %v", good, err)
		}
	}
	for _, bad := range []string{"expired", "foreign-ca", "not-yet-valid"} {
		if err := verify(bad, false); err == nil {
			t.Errorf("openssl verify accepts %s", bad)
		}
	}
	if err := verify("revoked", true); err == nil {
		t.Error("openssl verify -crl_check accepts the revoked certificate")
	}
	rev, _ := m.Lookup("revoked")
	serial, _ := run("x509", "-noout", "-serial", "-in", m.Path(rev.Cert))
	crlText, err := run("crl", "-in", m.Path(m.CA.CRL), "-noout", "-text")
	if err != nil || !strings.Contains(crlText, strings.TrimSpace(strings.TrimPrefix(serial, "serial="))) {
		t.Errorf("openssl crl does not list %s: %v\n%s", serial, err, crlText)
	}
}

func TestReadsAreBounded(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.pem")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFileLimited(big, MaxFileSize); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadCertificateFile("/dev/zero", ""); err == nil {
		t.Error("/dev/zero read as a certificate")
	}
}

// TestManifestWithPathInARoleIsRefused: a role, username or identity name that is not a
// plain name (a manifest edited by hand: "../../etc") is refused when the manifest loads,
// before it reaches a folder path, a URL or a printed curl line.
func TestManifestWithPathInARoleIsRefused(t *testing.T) {
	p, err := NewPKI(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ field, value string }{
		{"roles", `["../../etc"]`}, {"roles", `["FTPSGW.Heartbeat/x"]`}, {"username", `"CVR_1_RID_2/../x"`}, {"name", `"a b"`},
	} {
		dir := filepath.Join(t.TempDir(), "pki")
		if _, err := WriteDir(dir, p, false); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, ManifestFile)
		raw, _ := os.ReadFile(path)
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		var v any
		_ = json.Unmarshal([]byte(tc.value), &v)
		doc["identities"].([]any)[0].(map[string]any)[tc.field] = v
		raw, _ = json.Marshal(doc)
		os.WriteFile(path, raw, 0o644)
		if _, err := LoadManifest(dir); err == nil || !strings.Contains(err.Error(), tc.field[:4]) {
			t.Errorf("%s %s: %v", tc.field, tc.value, err)
		}
	}
}
