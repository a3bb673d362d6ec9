package main

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
	"github.com/ftpsgw/ftpsgw/steps"
	"github.com/ftpsgw/ftpsgw/steps/certify"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

func certifyClient(t *testing.T, command string, key certs.KeyAlgorithm) *reports.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	emb, err := startEmbeddedClientMode(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.close()
	run, err := certify.Run(ctx, certify.RunOptions{Profile: emb.profile, Features: features.ClientFS, Version: "test", Kind: "client",
		Steps: certify.Bind(steps.Client(target.Adapter{Command: command, Timeout: 60 * time.Second}))})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// notPassing lists "ID=STATUS" of the requirements that did not pass.
func notPassing(run *reports.Run) []string {
	var out []string
	for _, r := range run.Requirements {
		if r.Status != reports.Pass {
			out = append(out, string(r.ID)+"="+string(r.Status))
		}
	}
	return out
}

func logFailures(t *testing.T, run *reports.Run) {
	for _, s := range run.Scenarios {
		if s.Status != reports.Pass {
			t.Logf("  %s %s: %s %s", s.Status, s.Name, s.Failure, s.Unsupported)
		}
	}
}

func adapterPath(t *testing.T, name string) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "examples", "adapters", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// adapterFile is each reference adapter's file in examples/adapters, by the program it needs.
var adapterFile = map[string]string{"curl": "curl.sh", "lftp": "lftp.sh", "python3": "python-ftplib.py"}

func skipMatrixUnderRace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole client certifications; skipped with -short")
	}
	if raceEnabled {
		t.Skip("client certifications run without -race (make test runs them separately)")
	}
}

func TestReferenceAdaptersPass(t *testing.T) {
	skipMatrixUnderRace(t)
	adapters := map[string]string{"go": binary(t) + " client", "curl": adapterPath(t, "curl.sh"), "lftp": adapterPath(t, "lftp.sh"),
		"python3": adapterPath(t, adapterFile["python3"])}
	for _, name := range []string{"go", "curl", "lftp", "python3"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name != "go" {
				tool.Need(t, name, name)
			}
			run := certifyClient(t, adapters[name], defaultClientKey) // RSA-PSS 3072, as OCES3
			got := notPassing(run)
			// curl (OpenSSL) offers no TLS tickets, so it can never resume a Go server's session: a SHOULD.
			allowed := []string{}
			if name == "curl" {
				allowed = []string{"CL-TLS-03=WARN"}
			}
			if run.Verdict() != reports.Pass || !slices.Equal(got, allowed) {
				t.Errorf("%s adapter: verdict %s, not passing %v (allowed %v)", name, run.Verdict(), got, allowed)
				logFailures(t, run)
			}
		})
	}
}

// TestMisconfiguredAdaptersFailExactlyTheirRequirement breaks the curl adapter one way at a
// time, as a vendor's mistakes would, and checks the certification blames exactly that.
func TestMisconfiguredAdaptersFailExactlyTheirRequirement(t *testing.T) {
	skipMatrixUnderRace(t)
	for _, tc := range []struct {
		name, from, to string
		want           string // the one requirement that must not pass (FAIL, WARN or PARTIAL)
		client         string // the reference adapter broken (default curl)
	}{
		{"no client certificate", `cert="--cert $FTPSGW_CERT --key $FTPSGW_KEY"`, `cert=""`, "CL-TLS-01=FAIL", ""},
		{"TLS 1.3 forced", `tls="--ssl-reqd --tlsv1.2 --tls-max 1.2"`, `tls="--ssl-reqd --tlsv1.3"`, "CL-TLS-01=FAIL", ""},
		{"clear data connections", `tls="--ssl-reqd --tlsv1.2 --tls-max 1.2"`, `tls="--ftp-ssl-control --tlsv1.2 --tls-max 1.2"`, "CL-TLS-02=WARN", ""},
		{"a name reused for a second submission", `if grep -qxF "$name" "$state" 2>/dev/null; then`, `if false; then`, "CL-NAME-01=FAIL", ""},
		{"another identity's username", `--user "$FTPSGW_USERNAME:$FTPSGW_PASSWORD"`, `--user "CVR_19552101_UID_OCSP01-SYSTEMTEST-XXXIV:$FTPSGW_PASSWORD"`, "CL-AUTH-01=FAIL", ""},
		{"active mode", `curl -sS --max-time 30 $tls`, `curl -sS --max-time 30 --ftp-port 127.0.0.1 $tls`, "CL-TLS-02=WARN", ""},
		{"receipts truncated", `ftpcurl -o "$dir/$f" "$url/out/$f" || exit 1`, `ftpcurl -o "$dir/$f" "$url/out/$f" || exit 1; truncate -s -1 "$dir/$f"`, "CL-STAT-01=FAIL", ""},
		{"fixed-record uploads unsupported", `[ "${FTPSGW_FORMAT:-}" = fixed-record ] && mode="--use-ascii"`, `[ "${FTPSGW_FORMAT:-}" = fixed-record ] && exit 127`, "CL-UP-01=PARTIAL", ""},
		{"a refused reuse reported as unsupported", `the gateway never accepts a name twice" >&2; exit 1; fi`, `the gateway never accepts a name twice" >&2; exit 127; fi`, "CL-NAME-01=PARTIAL", ""},
		{"any server certificate trusted", `--cacert "$FTPSGW_CA"`, `--insecure`, "CL-TLS-04=FAIL", ""},
		{"the gateway's CA not trusted (only the system's)", `--cacert "$FTPSGW_CA"`, ``, "CL-TLS-04=FAIL", ""},
		{"the server's host name not checked", `set ssl:ca-file $FTPSGW_CA;`, `set ssl:ca-file $FTPSGW_CA; set ssl:check-hostname no;`, "CL-TLS-04=FAIL", "lftp"},
		{"uploads closed without close_notify", `conn.unwrap()  # TLS close_notify`, `pass  # no close_notify: a bare TCP FIN`, "CL-TLS-02=WARN", "python3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each certification has a simulator of its own and spends its time waiting for
			// the adapter (curl's retries, timeouts), not computing: run them side by side.
			t.Parallel()
			client := cmp.Or(tc.client, "curl")
			tool.Need(t, client, client)
			original, err := os.ReadFile(adapterPath(t, adapterFile[client]))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(original), tc.from) {
				t.Fatalf("%s no longer contains %q", adapterFile[client], tc.from)
			}
			script := filepath.Join(t.TempDir(), adapterFile[client])
			os.WriteFile(script, []byte(strings.Replace(string(original), tc.from, tc.to, 1)), 0o755)
			// ECDSA: what is judged does not depend on the key type, and RSA 3072 handshakes
			// would double the matrix's time; the reference adapters certify with the default.
			run := certifyClient(t, script, certs.KeyECDSA)
			wantID, _, _ := strings.Cut(tc.want, "=")
			var judged []string // what the run blames: every status but PASS, BLOCKED by the broken one, and curl's TLS-03 warning
			for _, r := range run.Requirements {
				switch {
				case r.Status == reports.Pass, r.ID == "CL-TLS-03" && r.Status == reports.Warn:
				case r.Status == reports.Blocked && slices.Contains(r.BlockedBy, catalogue.ID(wantID)):
				case tc.want == "CL-UP-01=PARTIAL" && r.ID == "CL-STAT-01" && r.Status == reports.Partial:
					// its status_0 scenario uploads a fixed-record file too: the same unsupported action
				default:
					judged = append(judged, string(r.ID)+"="+string(r.Status))
				}
			}
			if !slices.Equal(judged, []string{tc.want}) {
				t.Errorf("%s: blamed %v, want exactly [%s] (others PASS or BLOCKED by %s)", tc.name, judged, tc.want, wantID)
				logFailures(t, run)
			}
			if strings.HasSuffix(tc.want, "PARTIAL") && run.Verdict() != reports.NotCertified {
				t.Errorf("%s: verdict %s, want NOT CERTIFIED", tc.name, run.Verdict())
			}
		})
	}
}

func TestCertifyClientBadInput(t *testing.T) {
	if code, _, _ := runCLI("certify-client"); code != exitUsage {
		t.Errorf("without --exec: %d", code)
	}
	dir := t.TempDir()
	// A client that supports nothing: every scenario UNSUPPORTED, verdict NOT CERTIFIED.
	code, stdout, _ := runCLI("certify-client", "--exec", "exit 127 #", "--report", dir, "--tags", "@CL-TLS-01")
	if code != exitNotCertified || !strings.Contains(stdout, "UNSUPPORTED   CL-TLS-01") || !strings.Contains(stdout, "Verdict: NOT CERTIFIED") {
		t.Errorf("unsupported client: code %d\n%s", code, stdout)
	}
	for _, f := range []string{"junit.xml", "report.html", "cucumber.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("report %s: %v", f, err)
		}
	}
}

// An adapter that cannot be run is a usage error before the run, not a client that
// supports nothing.
func TestMissingAdapterIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "adapter.sh")
	os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644)
	for cmd, want := range map[string]string{
		"/nonexistent/adapter":     "no such file",
		notExec:                    "not executable",
		dir:                        "a folder",
		"no-such-command-ftpsgw x": "finds no command",
	} {
		code, stdout, stderr := runCLI("certify-client", "--exec", cmd, "--report", t.TempDir())
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, want) {
			t.Errorf("--exec %q: code %d, stdout %q, stderr %q", cmd, code, stdout, stderr)
		}
	}
}

// TestClearDataConnectionsAreOneMistake: a client whose data connections are clear (PROT C)
// breaks CL-TLS-02; its resumption (CL-TLS-03) cannot be judged and is BLOCKED by it, not a
// second failure for the same mistake.
func TestClearDataConnectionsAreOneMistake(t *testing.T) {
	skipMatrixUnderRace(t)
	tool.Need(t, "python3", "python3")
	original, err := os.ReadFile(adapterPath(t, adapterFile["python3"]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(original), "f.prot_p()") {
		t.Fatal("the python adapter no longer calls prot_p")
	}
	script := filepath.Join(t.TempDir(), adapterFile["python3"])
	os.WriteFile(script, []byte(strings.Replace(string(original), "f.prot_p()", "f.prot_c()", 1)), 0o755)
	run := certifyClient(t, script, certs.KeyECDSA)
	for _, r := range run.Requirements {
		switch r.ID {
		case "CL-TLS-02":
			if r.Status != reports.Warn && r.Status != reports.Fail {
				t.Errorf("CL-TLS-02: %s, want it broken", r.Status)
			}
		case "CL-TLS-03":
			if r.Status != reports.Blocked || !slices.Contains(r.BlockedBy, "CL-TLS-02") {
				t.Errorf("CL-TLS-03: %s (blocked by %v), want BLOCKED by CL-TLS-02", r.Status, r.BlockedBy)
			}
		}
	}
}

// TestAdaptersLastWordsReachTheReport: an adapter that prints a lot and then its error keeps
// that error (the tail of its bounded output) in the report's evidence.
func TestAdaptersLastWordsReachTheReport(t *testing.T) {
	script := filepath.Join(t.TempDir(), "chatty.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncase \"$1\" in\nupload) head -c 20000 /dev/zero | tr '\\0' x; echo; echo 'THE-CLIENT-ERROR: 530 refused' >&2; exit 1;;\n*) exit 0;;\nesac\n"), 0o755)
	run := certifyClient(t, script, certs.KeyECDSA)
	found := false
	for _, s := range run.Scenarios {
		for _, e := range s.Evidence {
			if strings.Contains(e, "THE-CLIENT-ERROR: 530 refused") && strings.Contains(e, "bytes of output dropped here") {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the adapter's last words are not in the evidence")
	}
}
