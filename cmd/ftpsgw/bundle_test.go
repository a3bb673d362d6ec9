package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// retar rewrites a bundle with one file's content changed (the manifest left as it was).
func retar(t *testing.T, path, name string, change func([]byte) []byte) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	tr, tw := tar.NewReader(f), tar.NewWriter(&out)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Name == name {
			data, found = change(data), true
			h.Size = int64(len(data))
		}
		tw.WriteHeader(h)
		tw.Write(data)
	}
	tw.Close()
	if !found {
		t.Fatalf("%s holds no %s", path, name)
	}
	p := filepath.Join(t.TempDir(), "tampered.tar")
	os.WriteFile(p, out.Bytes(), 0o644)
	return p
}

// TestSignedBundles: a bundle signed with `keys init`'s key verifies and says what it
// certifies; one byte changed in any file, or the verdict in results.json, fails naming the
// file; another key fails; an unsigned bundle verifies its digests and says it is unsigned.
func TestSignedBundles(t *testing.T) {
	keys := t.TempDir()
	if code, stdout, stderr := runCLI("keys", "init", "--out", keys); code != exitOK || !strings.Contains(stdout, "ftpsgw-sign.pub") {
		t.Fatalf("keys init: %d %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("keys", "init", "--out", keys); code == exitOK || !strings.Contains(stderr, "never replaces") {
		t.Errorf("keys init over existing keys: %d %s", code, stderr)
	}
	priv, pub := filepath.Join(keys, "ftpsgw-sign.key"), filepath.Join(keys, "ftpsgw-sign.pub")
	bundle := filepath.Join(t.TempDir(), "run.tar")
	if code, stdout, stderr := runCLI("certify", "--tags", "@GW-TLS-01", "--report", t.TempDir(), "--bundle", bundle, "--sign-key", priv); code != exitOK || !strings.Contains(stdout, "(signed)") {
		t.Fatalf("certify --bundle: %d\n%s\n%s", code, stdout, stderr)
	}
	code, out, _ := runCLI("verify", bundle, "--key", pub)
	if code != exitOK || !strings.Contains(out, "signature verifies") || !strings.Contains(out, "it certifies: gateway PASS") {
		t.Errorf("verify: %d\n%s", code, out)
	}
	for _, tc := range []struct{ file, from, to string }{
		{"reports/report.html", "<html", "<HTML"},
		{"results.json", `"verdict": "PASS"`, `"verdict": "FAIL"`},
		{"profile.yaml", "moces", "mocez"},
		{"journal.json", `"events"`, `"Events"`},
	} {
		tampered := retar(t, bundle, tc.file, func(b []byte) []byte { return bytes.Replace(b, []byte(tc.from), []byte(tc.to), 1) })
		if code, out, _ := runCLI("verify", tampered, "--key", pub); code != exitFailure || !strings.Contains(out, tc.file+": changed") {
			t.Errorf("%s changed: exit %d\n%s", tc.file, code, out)
		}
	}
	other := t.TempDir()
	runCLI("keys", "init", "--out", other)
	if code, out, _ := runCLI("verify", bundle, "--key", filepath.Join(other, "ftpsgw-sign.pub")); code != exitFailure || !strings.Contains(out, "does not verify with the key") {
		t.Errorf("another key: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI("verify", bundle); code != exitFailure || !strings.Contains(out, "give the signer's public key") {
		t.Errorf("a signed bundle without --key: exit %d\n%s", code, out)
	}
	unsigned := filepath.Join(t.TempDir(), "unsigned.tar")
	if code, stdout, _ := runCLI("certify", "--tags", "@GW-TLS-01", "--report", t.TempDir(), "--bundle", unsigned); code != exitOK || !strings.Contains(stdout, "(unsigned)") {
		t.Fatalf("unsigned bundle: %d\n%s", code, stdout)
	}
	if code, out, _ := runCLI("verify", unsigned); code != exitOK || !strings.Contains(out, "UNSIGNED") {
		t.Errorf("unsigned verify: exit %d\n%s", code, out)
	}
	raw, _ := os.ReadFile(unsigned)
	if !bytes.Contains(raw, []byte("password: <redacted>")) {
		t.Error("the bundle's profile does not show its passwords redacted")
	}
	// The key from the environment (its PEM), as CI hands it over.
	pem, _ := os.ReadFile(priv)
	t.Setenv(signKeyEnv, string(pem))
	fromEnv := filepath.Join(t.TempDir(), "env.tar")
	if code, stdout, _ := runCLI("certify", "--tags", "@GW-TLS-01", "--report", t.TempDir(), "--bundle", fromEnv); code != exitOK || !strings.Contains(stdout, "(signed)") {
		t.Fatalf("bundle signed from %s: %d\n%s", signKeyEnv, code, stdout)
	}
	if code, out, _ := runCLI("verify", fromEnv, "--key", pub); code != exitOK {
		t.Errorf("verify of the bundle signed from the environment: %d\n%s", code, out)
	}
}
