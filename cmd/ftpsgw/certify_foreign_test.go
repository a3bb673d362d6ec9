package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
)

// foreignProfile describes a running simulator as a profile without its control API, as a
// stock FTPS server would be certified; extra is appended as YAML.
func foreignProfile(t *testing.T, sim *simtest.Simulator, extra string) string {
	t.Helper()
	return writeProfile(t, "stock-like gateway", sim.Manifest, sim.FTPS, sim.PassivePorts, extra)
}

// writeProfile writes a target profile for a server at address with every identity of a PKI
// that has a username; extra is appended as YAML.
func writeProfile(t *testing.T, name string, m *certs.Manifest, address, passive, extra string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("name: " + name + "\naddress: " + address + "\nca: " + m.Path(m.CA.Bundle) + "\nserver_name: localhost\n")
	b.WriteString("passive_ports: " + passive + "\ntimeouts: {operation: 10s, receipt: 2s}\nidentities:\n")
	for _, id := range m.Identities {
		if id.Username == "" {
			continue
		}
		b.WriteString("  - {name: " + id.Name + ", cert: " + m.Path(id.Chain) + ", key: " + m.Path(id.Key) + ", username: " + id.Username +
			", password: '" + id.Password + "', folders: [" + strings.Join(id.Roles, ", ") + "]}\n")
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "target.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A gateway whose receipts never come: the rules judged through receipts are BLOCKED by the
// receipt requirement, not FAILED under their own headings; the receipt requirement fails.
func TestReceiptsThatNeverComeBlockTheRulesThatNeedThem(t *testing.T) {
	t.Parallel() // mostly waiting (timeouts, receipts, a second run): overlaps with the others
	sim := simtest.New(t, simtest.Options{RealClock: true})
	if err := sim.Control.SetBackendUp(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, stdout, _ := runCLI("certify", "--target", foreignProfile(t, sim, ""), "--report", dir)
	for _, want := range []string{"FAIL          GW-STAT-02", "BLOCKED       GW-OUT-01", "BLOCKED       GW-NAME-01", "BLOCKED by GW-STAT-02",
		"PASS          GW-TLS-01", "PASS          GW-DIR-01", "UNSUPPORTED   GW-BACK-01", "Verdict: FAIL"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Contains(stdout, "FAIL          GW-OUT-01") || strings.Contains(stdout, "FAIL          GW-NAME-01") || code != exitFailure {
		t.Errorf("code %d\n%s", code, stdout)
	}
}

// A stock server that makes no receipts and has no control API, certified for what it can
// show: exit 0 when it passes everything in its declared scope.
func TestStockServerPassesItsDeclaredScope(t *testing.T) {
	sim := simtest.New(t, simtest.Options{SessionReuse: "off"})
	scope := "scope: [GW-TLS-01, GW-TLS-02, GW-TLS-03, GW-AUTH-01, GW-AUTH-02, GW-DIR-01, GW-NET-01]\n"
	dir := t.TempDir()
	code, stdout, _ := runCLI("certify", "--target", foreignProfile(t, sim, "capabilities: {receipts: false}\n"+scope), "--report", dir)
	if code != exitOK || !strings.Contains(stdout, "Certified for 7 of 7 requirements (profile scope: 7 requirements") ||
		!strings.Contains(stdout, "OUT OF SCOPE  GW-STAT-02") {
		t.Errorf("code %d\n%s", code, stdout)
	}
	// The same target with receipts in scope but declared absent: NOT CERTIFIED, not FAIL.
	code, stdout, _ = runCLI("certify", "--target", foreignProfile(t, sim, "capabilities: {receipts: false}\n"), "--report", dir)
	if code != exitNotCertified || !strings.Contains(stdout, "UNSUPPORTED   GW-STAT-01") || strings.Contains(stdout, "  FAIL ") {
		t.Errorf("receipts declared absent: code %d\n%s", code, stdout)
	}
}

// The preflight says in one sentence, within seconds, what is wrong with a target that is
// not what its profile says.
func TestPreflightNamesWhatIsWrong(t *testing.T) {
	t.Parallel() // mostly waiting (timeouts, receipts, a second run): overlaps with the others
	sim := simtest.New(t, simtest.Options{})
	httpSrv := httptest.NewServer(http.NotFoundHandler())
	defer httpSrv.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		name, addr, extra, want string
	}{
		{"HTTP server", strings.TrimPrefix(httpSrv.URL, "http://"), "", "no 220 greeting"},
		{"silent socket", silent.Addr().String(), "", "is this an implicit FTPS port"},
		{"implicit profile on an explicit port", sim.FTPS, "mode: implicit\n", "is this an explicit FTPS port"},
		{"nothing listening", "127.0.0.1:1", "", "cannot reach"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := foreignProfile(t, sim, tc.extra+"timeouts: {operation: 3s, receipt: 3s}\n")
			raw, _ := os.ReadFile(p)
			body := strings.Replace(string(raw), "address: "+sim.FTPS, "address: "+tc.addr, 1)
			body = strings.Replace(body, "timeouts: {operation: 10s, receipt: 2s}\n", "", 1)
			os.WriteFile(p, []byte(body), 0o600)
			start := time.Now()
			code, _, stderr := runCLI("certify", "--target", p, "--report", t.TempDir())
			if code != exitFailure || !strings.Contains(stderr, tc.want) || time.Since(start) > 15*time.Second {
				t.Errorf("code %d after %s: %s", code, time.Since(start), stderr)
			}
		})
	}
}

// An interrupted run writes this run's reports, marked INTERRUPTED, with the scenarios it
// cut NOT RUN, and exits 4.
func TestInterruptedRunReportsWhatRan(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the ftpsgw binary and runs a whole certification it interrupts (make test runs it)")
	}
	bin := binary(t)
	dir := t.TempDir()
	// A stale report of an earlier run must not survive beside this run's.
	os.WriteFile(filepath.Join(dir, "junit.xml"), []byte("stale"), 0o644)
	cmd := exec.Command(bin, "certify", "--report", dir)
	stderr, _ := cmd.StderrPipe()
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	sc.Split(bufio.ScanRunes)
	var errText strings.Builder
	dots, lines := 0, 0
	for sc.Scan() && dots < 5 { // progress dots, after the first line: some steps have run
		errText.WriteString(sc.Text())
		switch {
		case sc.Text() == "\n":
			lines++
		case sc.Text() == "." && lines > 0:
			dots++
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	drained := make(chan struct{})
	go func() {
		for sc.Scan() {
			errText.WriteString(sc.Text())
		}
		close(drained)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the interrupted run did not end within 60 s")
	}
	<-drained
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d, want %d\n%s\n%s", code, exitInterrupted, out.String(), errText.String())
	}
	if !strings.Contains(out.String(), "Verdict: INTERRUPTED") || !strings.Contains(out.String(), "NOT RUN") || strings.Contains(out.String(), "  FAIL ") {
		t.Errorf("summary:\n%s", out.String())
	}
	junit, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(junit), "INTERRUPTED") || !strings.Contains(string(html), "INTERRUPTED") {
		t.Errorf("reports are not this run's or not marked INTERRUPTED:\n%.300s", junit)
	}
}

// The reference state adapter (examples/state/ftpsgw-control.sh, curl only) puts the simulator
// into every state the suite needs: the simulator certified through it passes everything, as
// any gateway with such an adapter can be certified.
func TestStateAdapterCertifiesTheSimulator(t *testing.T) {
	// not parallel: its real-clock simulator must deliver receipt 2 within the profile's 2 s
	tool.Need(t, "curl", "curl")
	adapter, err := filepath.Abs("../../examples/state/ftpsgw-control.sh")
	if err != nil {
		t.Fatal(err)
	}
	sim := simtest.New(t, simtest.Options{})
	state := "state:\n  command: " + adapter + "\n  clock: virtual\n  env: {FTPSGW_CONTROL_URL: '" + sim.ControlURL + "'}\n"
	dir := t.TempDir()
	code, stdout, stderr := runCLI("certify", "--target", foreignProfile(t, sim, state), "--report", dir)
	if code != exitOK || !strings.Contains(stdout, allCertified(t)) {
		t.Errorf("code %d\n%s\n%s", code, stdout, stderr)
	}
	// An adapter that supports nothing: the state-changing scenarios are UNSUPPORTED, the
	// requirements that need them not certified, and nothing FAILs.
	none := filepath.Join(t.TempDir(), "none.sh")
	os.WriteFile(none, []byte("#!/bin/sh\necho 'this gateway cannot do that' >&2\nexit 127\n"), 0o755)
	real := simtest.New(t, simtest.Options{RealClock: true})
	code, stdout, _ = runCLI("certify", "--target", foreignProfile(t, real, "state: {command: "+none+"}\n"), "--report", dir)
	if code != exitNotCertified || !strings.Contains(stdout, "UNSUPPORTED   GW-BACK-01") || strings.Contains(stdout, "  FAIL ") {
		t.Errorf("unsupporting adapter: code %d\n%s", code, stdout)
	}
}

// Two certifications against one simulator: the lease lets one run at a time change it, so
// neither gives false verdicts; a run that cannot get the lease in time says who holds it.
func TestConcurrentCertificationsShareOneSimulator(t *testing.T) {
	t.Parallel() // mostly waiting (timeouts, receipts, a second run): overlaps with the others
	if testing.Short() {
		t.Skip("-short: runs two whole certifications side by side (make test runs it)")
	}
	sim := simtest.New(t, simtest.Options{})
	profile := foreignProfile(t, sim, "control: {url: '"+sim.ControlURL+"'}\n")
	ctx := context.Background()
	if _, err := sim.Control.AcquireLease(ctx, "someone-else", time.Minute); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _, stderr := runCLI("certify", "--target", profile, "--report", t.TempDir(), "--lease-wait", "2s")
	if code != exitFailure || !strings.Contains(stderr, "target busy: certification someone-else since") || time.Since(start) > 20*time.Second {
		t.Errorf("busy target: code %d after %s: %s", code, time.Since(start), stderr)
	}
	if err := sim.Control.Reset(ctx); err == nil || !strings.Contains(err.Error(), "target busy") {
		t.Errorf("a reset without the lease while another holds it: %v", err)
	}
	if err := sim.Control.ReleaseLease(ctx, "someone-else"); err != nil {
		t.Fatal(err)
	}
	certifySideBySide(t, map[string]string{"first": profile, "second": profile})
}

// certifySideBySide runs one certification per profile at once, each as its own process
// waiting for the lease as long as it takes, and expects every one to certify the simulator.
func certifySideBySide(t *testing.T, profiles map[string]string) {
	t.Helper()
	bin := binary(t)
	type result struct {
		which string
		code  int
		out   string
	}
	results := make(chan result, len(profiles))
	for which, profile := range profiles {
		go func() {
			cmd := exec.Command(bin, "certify", "--target", profile, "--report", t.TempDir(), "--lease-wait", "3m")
			out, _ := cmd.CombinedOutput()
			results <- result{which, cmd.ProcessState.ExitCode(), string(out)}
		}()
	}
	for range profiles {
		select {
		case r := <-results:
			if r.code != exitOK || !strings.Contains(r.out, allCertified(t)) {
				t.Errorf("%s run beside the others: code %d\n%s", r.which, r.code, r.out)
			}
		case <-time.After(5 * time.Minute):
			t.Fatal("the side-by-side certifications did not end within 5 minutes")
		}
	}
}

// A profile with two identities (as features/target.example.yaml): the requirements whose
// other scenarios need identities it lacks are PARTIAL, never PASS, and the run NOT CERTIFIED.
func TestMissingIdentitiesLeaveRequirementsPartial(t *testing.T) {
	t.Parallel() // mostly waiting (timeouts, receipts, a second run): overlaps with the others
	sim := simtest.New(t, simtest.Options{})
	m := sim.Manifest
	var b strings.Builder
	b.WriteString("address: " + sim.FTPS + "\nca: " + m.Path(m.CA.Bundle) + "\ncontrol: {url: '" + sim.ControlURL + "'}\nidentities:\n")
	for _, name := range []string{"moces", "voces"} {
		id, _ := m.Lookup(name)
		b.WriteString("  - {name: " + name + ", cert: " + m.Path(id.Chain) + ", key: " + m.Path(id.Key) + ", username: " + id.Username +
			", password: '" + id.Password + "', folders: [" + strings.Join(id.Roles, ", ") + "]}\n")
	}
	path := filepath.Join(t.TempDir(), "two.yaml")
	os.WriteFile(path, []byte(b.String()), 0o600)
	code, stdout, _ := runCLI("certify", "--target", path, "--report", t.TempDir())
	for _, want := range []string{"PARTIAL       GW-TLS-02", "1 of 6 scenario(s) passed", "PARTIAL       GW-OUT-01", "Verdict: NOT CERTIFIED"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if code != exitNotCertified || strings.Contains(stdout, "PASS          GW-TLS-02") {
		t.Errorf("code %d\n%s", code, stdout)
	}
}

// A gateway whose logins all fail (a broken password backend) cannot pass the rules that
// judge refusals: their scenarios first show that a good login works, so they are BLOCKED
// by GW-AUTH-01, which fails.
func TestRefusalsCountOnlyWhereLoginsWork(t *testing.T) {
	sim := simtest.New(t, simtest.Options{})
	p := foreignProfile(t, sim, "control: {url: '"+sim.ControlURL+"'}\n")
	raw, _ := os.ReadFile(p)
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.Index(line, "password: '"); i >= 0 {
			line = line[:i] + "password: 'not-the-password'}"
		}
		out = append(out, line)
	}
	os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o600)
	code, stdout, _ := runCLI("certify", "--target", p, "--report", t.TempDir(), "--tags", "@GW-TLS-02 or @GW-AUTH-01 or @GW-AUTH-02")
	for _, want := range []string{"FAIL          GW-AUTH-01", "BLOCKED       GW-TLS-02", "BLOCKED by GW-AUTH-01"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if code != exitFailure || strings.Contains(stdout, "PASS          GW-TLS-02") {
		t.Errorf("code %d\n%s", code, stdout)
	}
}

// PASV must announce the address the client connected to: a gateway that announces another
// (NAT misconfigured) fails GW-NET-01 and nothing else. (The announced 127.0.0.2 is never dialled.)
func TestPASVMustAnnounceTheGatewaysAddress(t *testing.T) {
	sim := simtest.New(t, simtest.Options{PublicHost: "127.0.0.2"})
	p := foreignProfile(t, sim, "control: {url: '"+sim.ControlURL+"'}\n")
	code, stdout, _ := runCLI("certify", "--target", p, "--report", t.TempDir(), "--tags", "@GW-NET-01 or @GW-TLS-03 or @GW-DIR-01")
	if code != exitFailure || !strings.Contains(stdout, "FAIL          GW-NET-01") || !strings.Contains(stdout, "127.0.0.2") ||
		!strings.Contains(stdout, "PASS          GW-TLS-03") || !strings.Contains(stdout, "PASS          GW-DIR-01") {
		t.Errorf("code %d\n%s", code, stdout)
	}
}

// A gateway that accepts a reused name, or a name breaking the rules, and answers it with
// receipts 1 and 2 but no status_0, certified without a control API (so GW-STAT-02 can
// never be PASS here): the name rules FAIL. The receipts that came prove the receipt path
// works; the missing status_0 is the name rule's own evidence, not GW-STAT-02's.
func TestNameRulesFailOnAForeignGatewayThatWritesReceiptsButNoStatus0(t *testing.T) {
	// not parallel: its real-clock simulator must deliver receipt 2 within the profile's 2 s
	for _, tc := range []struct{ defect, req string }{
		{"accept-reused-names", "GW-NAME-01"},
		{"accept-bad-names", "GW-NAME-03"},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			sim := simtest.New(t, simtest.Options{RealClock: true, Defects: []string{tc.defect}})
			code, stdout, _ := runCLI("certify", "--target", foreignProfile(t, sim, ""), "--strict", "--tags", "@"+tc.req, "--report", t.TempDir())
			if code != exitFailure || !strings.Contains(stdout, "FAIL          "+tc.req) || strings.Contains(stdout, "BLOCKED") {
				t.Errorf("code %d, want %s FAIL and nothing BLOCKED\n%s", code, tc.req, stdout)
			}
		})
	}
}

// A gateway that refuses every login (here: every password in the profile is wrong): GW-AUTH-01
// fails, and the positive login scenarios of GW-AUTH-02 and GW-AUTH-04 are BLOCKED by it,
// not failed or warned under their own headings.
func TestPositiveLoginScenariosAreBlockedWhereNoLoginWorks(t *testing.T) {
	sim := simtest.New(t, simtest.Options{})
	path := foreignProfile(t, sim, "")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.ReplaceAll(string(raw), "password: '", "password: 'wrong-")), 0o600)
	code, stdout, _ := runCLI("certify", "--target", path, "--tags", "@GW-AUTH-01 or @GW-AUTH-02 or @GW-AUTH-04", "--report", t.TempDir())
	for _, want := range []string{"FAIL          GW-AUTH-01", "BLOCKED       GW-AUTH-02", "BLOCKED       GW-AUTH-04"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if code != exitFailure || strings.Contains(stdout, "WARN") || strings.Count(stdout, "  FAIL  ") > 1 {
		t.Errorf("code %d\n%s", code, stdout)
	}
}

// TestInterruptWhileStartingLeavesNoStaleReport: Ctrl-C while the embedded simulator starts
// (the first second) exits 4, and the previous run's reports are gone, not left as if this
// run had passed; also under certify-client.
func TestInterruptWhileStartingLeavesNoStaleReport(t *testing.T) {
	bin := binary(t)
	for _, args := range [][]string{{"certify"}, {"certify-client", "--exec", "true"}} {
		dir := t.TempDir()
		for _, f := range []string{"junit.xml", "report.html", "cucumber.json"} {
			os.WriteFile(filepath.Join(dir, f), []byte("stale PASS of an earlier run"), 0o644)
		}
		cmd := exec.Command(bin, append(args, "--report", dir)...)
		stderr := &lockedBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The embedded simulator takes about a second to start (a PKI, a database, listeners):
		// interrupt well inside it.
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: the interrupted run did not end within 60 s", args)
		}
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitInterrupted, stderr.String())
		}
		for _, f := range []string{"junit.xml", "report.html", "cucumber.json"} {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil && strings.Contains(string(b), "stale") {
				t.Errorf("%v: the stale %s survived", args, f)
			}
		}
	}
}

// TestContainmentIsJudgedByWhatIsReached: a server that answers 250 to CWD \..\.. but stays in
// the user's own root (listing it shows nothing else) contains the path: GW-DIR-01 passes.
// The same server judged by reply codes would fail it.
func TestContainmentIsJudgedByWhatIsReached(t *testing.T) {
	s := startStockServer(t, stockOptions{BackslashPaths: true})
	code, stdout, _ := runCLI("certify", "--target", s.Profile(t, ""), "--tags", "@GW-DIR-01", "--report", t.TempDir())
	if code != exitOK || !strings.Contains(stdout, "PASS          GW-DIR-01") {
		t.Errorf("code %d\n%s", code, stdout)
	}
	// A server that lets a user into a service folder of a role it does not hold fails,
	// on that very path, although the folder it reaches is empty.
	s = startStockServer(t, stockOptions{AllRoles: true})
	code, stdout, _ = runCLI("certify", "--target", s.Profile(t, ""), "--tags", "@GW-DIR-01", "--report", t.TempDir())
	if code != exitFailure || !strings.Contains(stdout, "FAILED  /eKapital.Rente.Indlaan cannot be reached") {
		t.Errorf("a folder of another role reached: code %d\n%s", code, stdout)
	}
}

// TestGoTestGivesCertifysVerdict: `go test ./steps -run TestFeatures` passes where certify
// warns (a failed SHOULD: exit 0) and fails where certify fails (a failed MUST).
func TestGoTestGivesCertifysVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go test inside the test (make test runs it)")
	}
	for _, tc := range []struct{ defect, tags string }{
		{"no-session-reuse", "@GW-TLS-04"}, // SHOULD (assumed): certify warns
		{"accept-tls13", "@GW-TLS-01"},     // MUST: certify fails
	} {
		sim := simtest.New(t, simtest.Options{Defects: []string{tc.defect}})
		prof := foreignProfile(t, sim, "")
		code, stdout, _ := runCLI("certify", "--target", prof, "--tags", tc.tags, "--report", t.TempDir())
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^TestFeatures$", "./steps", "-args", "-godog.tags="+tc.tags)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "FTPSGW_TARGET="+prof)
		out, err := cmd.CombinedOutput()
		cancel()
		if (err == nil) != (code == exitOK) {
			t.Errorf("%s: certify exit %d, go test %v\ncertify:\n%s\ngo test:\n%s", tc.defect, code, err, stdout, out)
		}
	}
}

// TestATargetThatDiesMidRunIsAnError: a gateway that stops answering after its preflight
// is not a broken gateway: the run's verdict is ERROR (exit 5), the requirements not reached
// are NOT RUN, and nothing is FAILED for the scenario it died in.
func TestATargetThatDiesMidRunIsAnError(t *testing.T) {
	s := startStockServer(t, stockOptions{DieAfterLogins: 8})
	dir := t.TempDir()
	code, stdout, stderr := runCLI("certify", "--target", s.Profile(t, ""), "--report", dir)
	if code != exitTargetLost || !strings.Contains(stdout, "Verdict: ERROR") || !strings.Contains(stdout, "the target stopped answering") {
		t.Errorf("code %d, want %d and Verdict: ERROR\n%s\n%s", code, exitTargetLost, stdout, stderr)
	}
	if !strings.Contains(stdout, "not reached: the target stopped answering") {
		t.Errorf("no requirement says it was not reached:\n%s", stdout)
	}
	junit, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if !strings.Contains(string(junit), "ERROR: the target stopped answering") {
		t.Errorf("junit.xml does not say the run ended in an error:\n%.400s", junit)
	}
}

// TestStateAdapterRunHoldsTheLease: a certification through the reference state adapter
// takes the simulator's lease like one through the control API: beside a run that holds it,
// it waits and then says "target busy" (exit 1, nothing judged); run side by side with a
// control-API certification, both certify the simulator whole, one after the other.
func TestStateAdapterRunHoldsTheLease(t *testing.T) {
	t.Parallel() // mostly waiting (timeouts, receipts, a second run): overlaps with the others
	if testing.Short() {
		t.Skip("-short: runs two whole certifications side by side (make test runs it)")
	}
	tool.Need(t, "curl", "curl")
	adapter, err := filepath.Abs("../../examples/state/ftpsgw-control.sh")
	if err != nil {
		t.Fatal(err)
	}
	sim := simtest.New(t, simtest.Options{})
	viaAdapter := foreignProfile(t, sim, "state:\n  command: "+adapter+"\n  clock: virtual\n  env: {FTPSGW_CONTROL_URL: '"+sim.ControlURL+"'}\n")
	viaAPI := foreignProfile(t, sim, "control: {url: '"+sim.ControlURL+"'}\n")
	ctx := context.Background()
	if _, err := sim.Control.AcquireLease(ctx, "someone-else", time.Minute); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("certify", "--target", viaAdapter, "--report", t.TempDir(), "--lease-wait", "2s")
	if code != exitFailure || !strings.Contains(stderr, "target busy") || !strings.Contains(stderr, "someone-else") || strings.Contains(stdout, "FAIL ") {
		t.Errorf("busy target through the adapter: code %d\n%s\n%s", code, stdout, stderr)
	}
	if err := sim.Control.ReleaseLease(ctx, "someone-else"); err != nil {
		t.Fatal(err)
	}
	certifySideBySide(t, map[string]string{"state adapter": viaAdapter, "control API": viaAPI})
}
