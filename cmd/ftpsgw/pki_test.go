package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/certs"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPKICommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if code, _, stderr := runCLI("pki", "init"); code != exitUsage || !strings.Contains(stderr, "--out") {
		t.Errorf("pki init without --out: code %d, %s", code, stderr)
	}
	code, stdout, stderr := runCLI("pki", "init", "--out", dir)
	if code != exitOK || !strings.Contains(stdout, "CVR_19552101_RID_60134540") {
		t.Fatalf("pki init: code %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("pki", "init", "--out", dir); code != exitFailure || !strings.Contains(stderr, "--force") {
		t.Errorf("second pki init: code %d, %s", code, stderr)
	}
	m, err := certs.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	moces, _ := m.Lookup("moces")
	for _, args := range [][]string{
		{"pki", "show", m.Path(moces.Cert)},
		{"pki", "show", m.Path(moces.P12), "--password", moces.P12Password},
		{"pki", "show", "--password", moces.P12Password, m.Path(moces.P12)},
	} {
		code, stdout, stderr := runCLI(args...)
		if code != exitOK || !strings.Contains(stdout, "Username:     CVR_19552101_RID_60134540") {
			t.Errorf("%v: code %d\n%s%s", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runCLI("pki", "show", m.Path(moces.P12)); code != exitFailure || !strings.Contains(stderr, "password") {
		t.Errorf("p12 without password: code %d, %s", code, stderr)
	}
	personal, _ := m.Lookup("personal")
	if code, stdout, stderr := runCLI("pki", "show", m.Path(personal.Cert)); code != exitFailure ||
		!strings.Contains(stderr, "no CVR") || !strings.Contains(stdout, "PID:9208") {
		t.Errorf("personal: code %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := runCLI("pki", "show", filepath.Join(dir, "nope.pem")); code != exitFailure {
		t.Errorf("missing file: code %d", code)
	}
	if code, _, _ := runCLI("pki", "show", m.Path(m.CA.CRL)); code != exitFailure {
		t.Errorf("a CRL is not a certificate: code %d", code)
	}
	if code, _, _ := runCLI("frobnicate"); code != exitUsage {
		t.Errorf("unknown command: code %d", code)
	}
	if code, _, _ := runCLI("pki", "init", "--help"); code != exitOK {
		t.Errorf("--help: code %d", code)
	}
}

func TestVersionWritesToStdout(t *testing.T) {
	code, stdout, stderr := runCLI("version")
	if code != exitOK || strings.TrimSpace(stdout) != version || stderr != "" {
		t.Errorf("version: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
