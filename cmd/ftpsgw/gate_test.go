package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/reports"
)

// TestBaselinesWaiversAndDiff: a run with a known FAIL is the baseline; against it, with a
// waiver for that FAIL, the run passes the gate; with the waiver expired it fails naming it;
// a new FAIL against the baseline fails naming it; an unused waiver fails; diff of a run
// against itself is empty, against the worse run it says worse (exit 1).
func TestBaselinesWaiversAndDiff(t *testing.T) {
	tags := "@GW-TLS-01 or @GW-AUTH-01"
	base := t.TempDir()
	if code, stdout, stderr := runCLI("certify", "--defect", "accept-tls13", "--tags", tags, "--report", base); code != exitFailure {
		t.Fatalf("baseline run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	res, err := reports.ReadResults(base)
	if err != nil {
		t.Fatalf("results.json of the baseline: %v", err)
	}
	if res.Run.Verdict != reports.Fail || res.Run.ExitCode != exitFailure {
		t.Errorf("results.json run: %+v", res.Run)
	}
	waivers := func(expires string, ids ...string) string {
		var b strings.Builder
		b.WriteString("waivers:\n")
		for _, id := range ids {
			b.WriteString("  - {id: " + id + ", reason: \"TLS 1.3 not yet refused (ticket 42)\", owner: gateway-team, expires: " + expires + "}\n")
		}
		p := filepath.Join(t.TempDir(), "waivers.yaml")
		os.WriteFile(p, []byte(b.String()), 0o644)
		return p
	}
	future := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	past := time.Now().AddDate(0, 0, -2).Format(time.DateOnly)

	for _, tc := range []struct {
		name string
		args []string
		code int
		says []string
	}{
		{"known FAIL, waived", []string{"--defect", "accept-tls13", "--baseline", base, "--waivers", waivers(future, "GW-TLS-01")}, exitOK,
			[]string{"waived      GW-TLS-01", "Gate: PASS"}},
		{"known FAIL, waiver expired", []string{"--defect", "accept-tls13", "--baseline", base, "--waivers", waivers(past, "GW-TLS-01")}, exitFailure,
			[]string{"EXPIRED     GW-TLS-01", "Gate: FAIL"}},
		{"a new FAIL against the baseline", []string{"--defect", "accept-tls13", "--defect", "any-password", "--baseline", base}, exitFailure,
			[]string{"REGRESSION  GW-AUTH-01 PASS -> FAIL", "Gate: FAIL"}},
		{"waiver without a baseline", []string{"--defect", "accept-tls13", "--waivers", waivers(future, "GW-TLS-01")}, exitOK,
			[]string{"waived      GW-TLS-01", "Gate: PASS"}},
		{"an unused waiver", []string{"--waivers", waivers(future, "GW-TLS-01")}, exitFailure,
			[]string{"UNUSED      GW-TLS-01", "Gate: FAIL"}},
	} {
		dir := t.TempDir()
		code, stdout, stderr := runCLI(append([]string{"certify", "--tags", tags, "--report", dir}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s\n%s", tc.name, code, tc.code, stdout, stderr)
		}
		for _, want := range tc.says {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: the summary lacks %q\n%s", tc.name, want, stdout)
			}
		}
		if res, err := reports.ReadResults(dir); err != nil || res.Gate == nil || res.Run.ExitCode != code {
			t.Errorf("%s: results.json: %v %+v", tc.name, err, res)
		}
		if tc.name == "a new FAIL against the baseline" {
			if code, out, _ := runCLI("diff", base, dir); code != exitFailure || !strings.Contains(out, "GW-AUTH-01") || !strings.Contains(out, "worse") {
				t.Errorf("diff against the worse run: exit %d\n%s", code, out)
			}
			if code, out, _ := runCLI("diff", "--format", "markdown", base, filepath.Join(dir, "results.json")); code != exitFailure || !strings.Contains(out, "| ❌ | GW-AUTH-01 | PASS | FAIL |") {
				t.Errorf("markdown diff: exit %d\n%s", code, out)
			}
		}
	}
	if code, out, _ := runCLI("diff", base, base); code != exitOK || !strings.Contains(out, "no change") {
		t.Errorf("diff of a run against itself: exit %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "w.yaml")
	os.WriteFile(bad, []byte("waivers:\n  - {id: GW-TLS-01, owner: x, expires: soon}\n"), 0o644)
	if code, _, stderr := runCLI("certify", "--waivers", bad); code != exitUsage || !strings.Contains(stderr, "reason") || !strings.Contains(stderr, "expires") {
		t.Errorf("a bad waivers file: exit %d, %s", code, stderr)
	}
}

// TestClientCertificationGates: certify-client takes --baseline and --waivers too: a client
// that supports nothing is NOT CERTIFIED (exit 3); against its own results as the baseline
// nothing regressed (exit 0); results.json carries the profile without its passwords.
func TestClientCertificationGates(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none.sh")
	os.WriteFile(none, []byte("#!/bin/sh\nexit 127\n"), 0o755)
	first := t.TempDir()
	if code, stdout, stderr := runCLI("certify-client", "--exec", none, "--key", "ecdsa", "--report", first); code != exitNotCertified {
		t.Fatalf("a client that supports nothing: exit %d\n%s\n%s", code, stdout, stderr)
	}
	res, err := reports.ReadResults(first)
	if err != nil || res.Run.Kind != "client" || !strings.Contains(res.Run.Profile, "<redacted>") || strings.Contains(res.Run.Profile, "password: '") {
		t.Fatalf("client results.json: %v %+v", err, res)
	}
	code, stdout, _ := runCLI("certify-client", "--exec", none, "--key", "ecdsa", "--report", t.TempDir(), "--baseline", first)
	if code != exitOK || !strings.Contains(stdout, "Gate: PASS") {
		t.Errorf("against its own baseline: exit %d\n%s", code, stdout)
	}
}

// TestGateOnAForeignGateway: a gateway that is not the simulator (the stock FTPS server of
// these tests, which fails many requirements) gated against its own earlier run passes the
// gate, and the diff of the two runs finds nothing worse.
func TestGateOnAForeignGateway(t *testing.T) {
	s := startStockServer(t, stockOptions{})
	profile := s.Profile(t, "")
	first := t.TempDir()
	if code, stdout, _ := runCLI("certify", "--target", profile, "--report", first); code != exitFailure {
		t.Fatalf("the stock server: exit %d\n%s", code, stdout)
	}
	second := t.TempDir()
	code, stdout, _ := runCLI("certify", "--target", profile, "--report", second, "--baseline", first)
	if code != exitOK || !strings.Contains(stdout, "Gate: PASS") {
		t.Errorf("against its own baseline: exit %d\n%s", code, stdout)
	}
	if code, out, _ := runCLI("diff", first, second); code != exitOK {
		t.Errorf("diff of two runs of the same gateway: exit %d\n%s", code, out)
	}
}
