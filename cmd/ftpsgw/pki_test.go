package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestConcurrentPKIInitOneWins: several `ftpsgw pki init` into one new folder at once:
// exactly one writes its PKI and says so, the others refuse, and the folder holds the
// winner's PKI whole.
func TestConcurrentPKIInitOneWins(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	const n = 6
	type res struct {
		code           int
		stdout, stderr string
	}
	results := make(chan res, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary(t), "pki", "init", "--out", dir)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			results <- res{code, out.String(), errb.String()}
		}()
	}
	close(start)
	wins := 0
	for range n {
		r := <-results
		switch {
		case r.code == 0:
			wins++
		case !strings.Contains(r.stderr, "already holds a PKI") && !strings.Contains(r.stderr, "another process wrote"):
			t.Errorf("a loser said: exit %d\n%s", r.code, r.stderr)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent pki init succeeded; exactly one may", wins, n)
	}
	if _, err := certs.LoadManifest(dir); err != nil {
		t.Fatalf("the folder does not hold a whole PKI: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".pki.new-*")); len(leftovers) > 0 {
		t.Errorf("temporary folders left behind: %v", leftovers)
	}
}

// TestPKIClearCache: `ftpsgw pki clear-cache` drops the cached keys of the folder
// FTPSGW_KEY_CACHE names, and the next PKI makes them again.
func TestPKIClearCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(certs.KeyCacheEnv, dir)
	if _, err := certs.NewPKI(certs.Options{Keys: certs.DefaultKeyCache()}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("pki", "clear-cache")
	if code != exitOK || !strings.Contains(stdout, "removed") || !strings.Contains(stdout, dir) {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*", "*.pem")); len(left) != 0 {
		t.Errorf("keys left: %v", left)
	}
}
