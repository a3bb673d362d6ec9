package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Adapter runs the vendor's client under test. The contract (README): the harness runs
//
//	CMD upload FILE FOLDER   upload the local FILE under its own name into the gateway folder FOLDER
//	CMD receipts DIR         download the receipts now in /out into the local DIR
//
// with the connection in FTPSGW_HOST, FTPSGW_PORT, FTPSGW_CA, FTPSGW_CERT, FTPSGW_KEY,
// FTPSGW_P12, FTPSGW_P12_PASSWORD, FTPSGW_USERNAME, FTPSGW_PASSWORD, plus FTPSGW_STATE_DIR (a
// folder the client may keep state in for the scenario) and FTPSGW_FORMAT ("fixed-record" for
// files that must go up in ASCII mode, else "binary"). Exit 0 = done, 127 = this action is
// unsupported, anything else = the client reports failure.
type Adapter struct {
	Command  string // run with sh -c, the action and its arguments appended
	Identity string // profile identity the client is given (default moces)
	Timeout  time.Duration
}

// ExitUnsupported is the adapter's exit code for an action it does not support.
const ExitUnsupported = 127

type adapterRun struct {
	action string
	code   int
	output string
}

// runAdapter runs one adapter action and records its result as evidence.
func (w *World) runAdapter(action string, args ...string) error {
	a := w.suite.adapter
	p := w.suite.profile
	id, _, ok := p.Identity(a.Identity)
	if !ok {
		return fmt.Errorf("the profile has no identity %q to give the client", a.Identity)
	}
	host, port, _ := net.SplitHostPort(p.Address)
	env := append(os.Environ(),
		"FTPSGW_HOST="+host, "FTPSGW_PORT="+port, "FTPSGW_CA="+p.path(p.CA),
		"FTPSGW_CERT="+p.path(id.Cert), "FTPSGW_KEY="+p.path(id.Key),
		"FTPSGW_P12="+p.path(id.P12), "FTPSGW_P12_PASSWORD="+id.P12Password,
		"FTPSGW_USERNAME="+id.Username, "FTPSGW_PASSWORD="+id.Password,
		"FTPSGW_STATE_DIR="+w.stateDir, "FTPSGW_FORMAT="+w.format,
	)
	res, err := runCommand(w.ctx, a.Command, append([]string{action}, args...), env, a.Timeout)
	if err != nil {
		return fmt.Errorf("running the client: %w", err)
	}
	code, output := res.code, res.output
	w.adapter = adapterRun{action: action + " " + strings.Join(args, " "), code: code, output: output}
	w.note("client %s %s -> exit %d\n%s", action, strings.Join(args, " "), code, output)
	if code == ExitUnsupported {
		return w.unsupportedf("the client does not support %q (exit 127)", action)
	}
	return nil
}

// clientUpload makes a new local file and has the client upload it.
func (w *World) clientUpload(service, name string, data []byte) error {
	local := filepath.Join(w.workDir, name)
	if err := os.WriteFile(local, data, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	w.files = append(w.files, upFile{who: w.suite.adapter.Identity, service: service, name: name})
	w.localSums = append(w.localSums, hex.EncodeToString(sum[:]))
	return w.runAdapter("upload", local, service)
}

// events returns the journal since the scenario began (the gateway was reset for it, and
// only the client talks to it).
func (w *World) events(types ...control.EventType) ([]control.Event, error) {
	j, err := w.suite.api.Journal(w.ctx, control.JournalQuery{Types: types})
	if err != nil {
		return nil, err
	}
	return j.Events, nil
}

// clientFingerprint is the SHA-256 of the certificate the client was given.
func (w *World) clientFingerprint() string {
	_, cert, _ := w.suite.profile.Identity(w.suite.adapter.Identity)
	return certs.Fingerprint(cert.Leaf)
}

func (w *World) uploadsOf(name string) (int, error) {
	evs, err := w.events(control.EventUpload)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range evs {
		if e.OK && strings.HasSuffix(e.Path, "/"+name) {
			n++
		}
	}
	return n, nil
}

// initializeClientScenario registers the client-certification hooks and steps: the
// client's actions through its adapter, judgements from the simulator's journal, and the
// shared steps that put the simulator into a state.
func (s *Suite) initializeClientScenario(sc *godog.ScenarioContext) {
	w := newWorld(s)
	sc.Before(func(ctx context.Context, scn *godog.Scenario) (context.Context, error) {
		ctx = w.begin(ctx, scn)
		dir, err := os.MkdirTemp("", "ftpsgw-client-")
		if err != nil {
			return ctx, err
		}
		w.workDir, w.stateDir, w.receiptDir = dir, filepath.Join(dir, "state"), filepath.Join(dir, "receipts")
		for _, d := range []string{w.stateDir, w.receiptDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return ctx, err
			}
		}
		return ctx, s.api.Reset(ctx)
	})
	sc.After(func(ctx context.Context, scn *godog.Scenario, err error) (context.Context, error) {
		if err != nil && w.unsupported == "" {
			w.journalEvidence()
		}
		w.close()
		os.RemoveAll(w.workDir)
		s.results.end(scn)
		return ctx, nil
	})
	s.recordSteps(sc)
	clientSteps{w}.register(sc)
	stateSteps{w}.register(sc)
}

// clientSteps: client certification (features/client/*.feature).
type clientSteps struct{ *World }

func (x clientSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^the client uploads a new file to "([^"]*)"$`, x.uploadsNewFile)
	sc.Step(`^the client has uploaded a new file to "([^"]*)"$`, x.hasUploadedNewFile)
	sc.Step(`^the client uploads (\d+) new files to "([^"]*)"$`, x.uploadsNewFiles)
	sc.Step(`^the client uploads a new fixed-record file to "([^"]*)"$`, x.uploadsFixedRecord)
	sc.Step(`^the client has uploaded a new fixed-record file to "([^"]*)"$`, x.hasUploadedFixedRecord)
	sc.Step(`^the client is asked to upload a file with the same name to "([^"]*)"$`, x.askedToReuseName)
	sc.Step(`^the client fetches its receipts$`, x.fetchesReceipts)
	sc.Step(`^the client reports success$`, x.clientSucceeded)
	sc.Step(`^the client reports failure$`, x.reportsFailure)

	// judgements from the journal
	sc.Step(`^the gateway saw only TLS 1\.2 handshakes with the client's certificate$`, x.sawOnlyTLS12WithCertificate)
	sc.Step(`^the gateway saw PROT P before every transfer$`, x.sawProtPBeforeTransfers)
	sc.Step(`^the gateway saw no active-mode command$`, x.sawNoActiveMode)
	sc.Step(`^every data connection the gateway saw used TLS$`, x.sawDataTLS)
	sc.Step(`^every data connection the gateway saw resumed its control connection's TLS session$`, x.sawDataResumed)
	sc.Step(`^the gateway saw the client log in as the username of its certificate, without a refused attempt$`, x.sawOwnUsername)
	sc.Step(`^the gateway saw the file uploaded exactly once$`, x.sawUploadedOnce)
	sc.Step(`^the gateway saw the client connect more than once$`, x.sawReconnect)
	sc.Step(`^the gateway saw (\d+) uploads under (\d+) different names$`, x.sawUploadsUnderNames)
	sc.Step(`^the file arrived whole in "([^"]*)"$`, x.arrivedWhole)
	sc.Step(`^the gateway recorded the upload as made in ASCII mode$`, x.recordedASCII)

	// simulator state
	sc.Step(`^the gateway will drop the control connection at the next (login|STOR)$`, x.dropAtNext)
	sc.Step(`^the backend requires ASCII mode for "([^"]*)"$`, x.backendRequiresASCII)
	sc.Step(`^the gateway has put receipts ([0-3](?:(?:, | and )[0-3])*) for it in /out$`, x.gatewayPutReceipts)
	sc.Step(`^the client's receipt folder holds receipts ([0-3](?:(?:, | and )[0-3])*) for it, byte for byte$`, x.receiptFolderHolds)
}

func (x clientSteps) uploadsNewFile(service string) error {
	return x.clientUpload(service, x.newName(""), []byte("ftpsgw client certification\r\n"))
}

func (x clientSteps) hasUploadedNewFile(service string) error {
	if err := x.uploadsNewFile(service); err != nil {
		return err
	}
	return x.clientSucceeded()
}

func (x clientSteps) uploadsNewFiles(n int, service string) error {
	for range n {
		if err := x.uploadsNewFile(service); err != nil {
			return err
		}
	}
	return nil
}

func (x clientSteps) uploadsFixedRecord(service string) error {
	x.format = "fixed-record"
	return x.clientUpload(service, x.newName(""), []byte("0123456789\r\nABCDEFGHIJ\r\n"))
}

func (x clientSteps) hasUploadedFixedRecord(service string) error {
	if err := x.uploadsFixedRecord(service); err != nil {
		return err
	}
	return x.clientSucceeded()
}

func (x clientSteps) askedToReuseName(service string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	return x.clientUpload(service, f.name, []byte("a different file under a name already submitted\r\n"))
}

func (x clientSteps) fetchesReceipts() error { return x.runAdapter("receipts", x.receiptDir) }

func (x clientSteps) reportsFailure() error {
	if x.adapter.code == 0 {
		return expected("the client to refuse (non-zero exit)", "exit 0 for %s", x.adapter.action)
	}
	return nil
}

func (x clientSteps) sawOnlyTLS12WithCertificate() error {
	evs, err := x.events(control.EventTLS)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return expected("a TLS handshake", "none (did the client send AUTH TLS?)")
	}
	fp := x.clientFingerprint()
	for _, e := range evs {
		if e.TLSVersion != "TLS1.2" || e.Fingerprint != fp {
			return expected("TLS1.2 with the client's certificate "+fp[:16]+"…",
				"%s with certificate %q (%s)", e.TLSVersion, shortFP(e.Fingerprint), e.Reason)
		}
	}
	return nil
}

func (x clientSteps) sawProtPBeforeTransfers() error {
	evs, err := x.events(control.EventCommand)
	if err != nil {
		return err
	}
	prot := map[string]string{}
	transfers := 0
	for _, e := range evs {
		verb, arg, _ := strings.Cut(strings.ToUpper(e.Line), " ")
		switch verb {
		case "PROT":
			prot[e.Session] = strings.TrimSpace(arg)
		case "STOR", "RETR", "LIST", "NLST", "MLSD", "APPE":
			transfers++
			if prot[e.Session] != "P" {
				return expected("PROT P before "+verb, "PROT %q in session %s", prot[e.Session], e.Session)
			}
		}
	}
	if transfers == 0 {
		return expected("at least one transfer", "none")
	}
	return nil
}

func (x clientSteps) sawNoActiveMode() error {
	evs, err := x.events(control.EventCommand)
	if err != nil {
		return err
	}
	for _, e := range evs {
		verb, _, _ := strings.Cut(strings.ToUpper(e.Line), " ")
		if verb == "PORT" || verb == "EPRT" {
			return expected("passive mode only", "%q", e.Line)
		}
	}
	return nil
}

// eachDataTLSEvent applies check to every data-connection handshake the journal holds.
func (x clientSteps) eachDataTLSEvent(check func(control.Event) error) error {
	evs, err := x.events(control.EventDataTLS)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return expected("TLS-protected data connections", "no data connection with TLS")
	}
	for _, e := range evs {
		if err := check(e); err != nil {
			return err
		}
	}
	return nil
}

func (x clientSteps) sawDataTLS() error {
	return x.eachDataTLSEvent(func(e control.Event) error {
		if e.TLSVersion == "" {
			return expected("TLS on the data connection", "%+v", e)
		}
		return nil
	})
}

func (x clientSteps) sawDataResumed() error {
	return x.eachDataTLSEvent(func(e control.Event) error {
		if !e.Resumed {
			return expected("the data connection to resume the control connection's TLS session", "a full handshake (%s)", e.TLSVersion)
		}
		return nil
	})
}

func (x clientSteps) sawOwnUsername() error {
	evs, err := x.events(control.EventLogin)
	if err != nil {
		return err
	}
	_, cert, _ := x.suite.profile.Identity(x.suite.adapter.Identity)
	id, _ := certs.FromCertificate(cert.Leaf)
	if len(evs) == 0 {
		return expected("a login", "none")
	}
	for _, e := range evs {
		if !e.OK || e.Username != id.Username() {
			return expected("logins as "+id.Username()+" that succeed", "%q ok=%v %s", e.Username, e.OK, e.Reason)
		}
	}
	return nil
}

func (x clientSteps) sawUploadedOnce() error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	n, err := x.uploadsOf(f.name)
	if err != nil {
		return err
	}
	if n != 1 {
		return expected("exactly one completed upload of "+f.name, "%d", n)
	}
	return nil
}

func (x clientSteps) sawReconnect() error {
	evs, err := x.events(control.EventConnect)
	if err != nil {
		return err
	}
	if len(evs) < 2 {
		return expected("a reconnection after the dropped connection", "%d connection(s)", len(evs))
	}
	return nil
}

func (x clientSteps) sawUploadsUnderNames(n, distinct int) error {
	evs, err := x.events(control.EventUpload)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range evs {
		if e.OK {
			names = append(names, filepath.Base(e.Path))
		}
	}
	uniq := slices.Clone(names)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	if len(names) != n || len(uniq) != distinct {
		return expected(fmt.Sprintf("%d uploads under %d names", n, distinct), "%v", names)
	}
	return nil
}

func (x clientSteps) arrivedWhole(service string) error {
	f, _ := x.lastFile()
	subs, err := x.suite.api.Submissions(x.ctx, "")
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Name == f.name && sub.Service == service && sub.SHA256 == x.localSums[len(x.localSums)-1] {
			return nil
		}
	}
	return expected(fmt.Sprintf("%s in %s with SHA-256 %s", f.name, service, x.localSums[len(x.localSums)-1][:16]), "%s", describeSubs(subs))
}

func (x clientSteps) recordedASCII() error {
	f, _ := x.lastFile()
	subs, err := x.suite.api.Submissions(x.ctx, "")
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Name == f.name {
			if !sub.ASCII {
				return expected(f.name+" uploaded with TYPE A", "binary (TYPE I)")
			}
			return nil
		}
	}
	return expected("a submission "+f.name, "%s", describeSubs(subs))
}

func (x clientSteps) dropAtNext(at string) error {
	f := control.Faults{DropAtLogin: 1}
	if at == "STOR" {
		f = control.Faults{DropAtStor: 1}
	}
	return x.suite.api.SetFaults(x.ctx, f)
}

func (x clientSteps) backendRequiresASCII(service string) error {
	_, err := x.suite.api.SetBackend(x.ctx, control.Backend{Services: map[string]control.ServiceRule{
		service: {Action: "accept", Delay: "1s", RequireASCII: true}}})
	return err
}

func (x clientSteps) gatewayPutReceipts(list string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	return x.waitReceiptsAPI(f, parseCodes(list)...)
}

func (x clientSteps) receiptFolderHolds(list string) error {
	// Fetching receipts unchanged is CL-STAT-01's rule, also where another scenario needs it.
	return blockedBy("CL-STAT-01", x.receiptFolderHoldsCodes(list))
}

func (x clientSteps) receiptFolderHoldsCodes(list string) error {
	f, _ := x.lastFile()
	for _, code := range parseCodes(list) {
		name := receiptName(f.service, f.name, code)
		got, err := os.ReadFile(filepath.Join(x.receiptDir, name))
		if err != nil {
			entries, _ := os.ReadDir(x.receiptDir)
			var have []string
			for _, e := range entries {
				have = append(have, e.Name())
			}
			return expected(name+" in the client's receipt folder", "%v", have)
		}
		if want := x.receipts[code]; string(got) != want {
			return expected(name+" byte for byte as in /out ("+fmt.Sprint(len(want))+" bytes)", "%s", describeDiff(got, []byte(want)))
		}
	}
	return nil
}

// waitReceiptsAPI waits (advancing a virtual clock) until the gateway has made receipts with
// these codes for the file, and keeps their content for comparison.
func (w *World) waitReceiptsAPI(f upFile, codes ...int) error {
	deadline := time.Now().Add(time.Duration(w.suite.profile.Timeouts.Receipt))
	var spent time.Duration
	for {
		rs, err := w.suite.api.Receipts(w.ctx, "")
		if err != nil {
			return err
		}
		found := map[int]string{}
		for _, r := range rs {
			if r.Filename == f.name && r.Kind == "receipt" {
				found[r.Code] = r.Content
			}
		}
		all := true
		for _, c := range codes {
			if _, ok := found[c]; !ok {
				all = false
			}
		}
		if all {
			for _, c := range codes {
				w.receipts[c] = found[c]
			}
			return nil
		}
		if time.Now().After(deadline) || spent > 10*time.Minute {
			return expected(fmt.Sprintf("receipts %v for %s", codes, f.name), "%v", keys(found))
		}
		if w.suite.virtual {
			if err := w.advance(time.Second); err != nil {
				return err
			}
			spent += time.Second
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// clientSucceeded passes when the client's last action exited 0. When it failed, the
// gateway's journal tells whether another client requirement it broke is the cause (a
// refused login, a handshake that was not TLS 1.2 with its certificate): the scenario is then
// BLOCKED by that requirement, so each mistake shows up as its own requirement.
func (w *World) clientSucceeded() error {
	if w.adapter.code == 0 {
		return nil
	}
	err := expected("the client to succeed (exit 0)", "exit %d for %s: %s", w.adapter.code, w.adapter.action, lastLine(w.adapter.output))
	if cause := w.clientFailureCause(); cause != "" {
		return blockedBy(cause, err)
	}
	return err
}

// clientFailureCause names the client requirement the journal shows broken, or "".
func (w *World) clientFailureCause() string {
	evs, err := w.events(control.EventTLS, control.EventLogin, control.EventCommand)
	if err != nil {
		return ""
	}
	fp := w.clientFingerprint()
	for _, e := range evs {
		if e.Type == control.EventTLS && (e.TLSVersion != "TLS1.2" || e.Fingerprint != fp) {
			return "CL-TLS-01"
		}
	}
	for _, e := range evs {
		if e.Type == control.EventLogin && !e.OK {
			return "CL-AUTH-01"
		}
	}
	for _, e := range evs {
		if verb, _, _ := strings.Cut(strings.ToUpper(e.Line), " "); e.Type == control.EventCommand && (verb == "PORT" || verb == "EPRT") {
			return "CL-TLS-02"
		}
	}
	return ""
}

// describeDiff says how a copy differs from the original: length, and the first differing byte.
func describeDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	switch {
	case len(got) < len(want) && i == len(got):
		return fmt.Sprintf("%d bytes: the first %d, %d missing at the end", len(got), len(got), len(want)-len(got))
	case len(got) > len(want) && i == len(want):
		return fmt.Sprintf("%d bytes: %d extra at the end", len(got), len(got)-len(want))
	}
	return fmt.Sprintf("%d bytes, differing from byte %d on", len(got), i)
}

// journalEvidence adds the gateway's view of the scenario (its journal: handshakes, commands,
// replies, logins, uploads) to the evidence, so a vendor sees what the gateway saw.
func (w *World) journalEvidence() {
	evs, err := w.events(control.EventTLS, control.EventDataTLS, control.EventCommand, control.EventReply, control.EventLogin, control.EventUpload)
	if err != nil {
		return
	}
	var b strings.Builder
	const max = 60
	for i, e := range evs {
		if i == max {
			fmt.Fprintf(&b, "… %d more events (GET /control/v1/journal)\n", len(evs)-max)
			break
		}
		switch e.Type {
		case control.EventTLS, control.EventDataTLS:
			fmt.Fprintf(&b, "%s %s %s %s resumed=%v cert=%s %s\n", e.Session, e.Type, e.TLSVersion, e.Cipher, e.Resumed, shortFP(e.Fingerprint), e.Reason)
		case control.EventCommand:
			fmt.Fprintf(&b, "%s > %s\n", e.Session, e.Line)
		case control.EventReply:
			fmt.Fprintf(&b, "%s < %d %s\n", e.Session, e.Code, e.Line)
		default:
			fmt.Fprintf(&b, "%s %s %s ok=%v %s %s\n", e.Session, e.Type, e.Username, e.OK, e.Path, e.Reason)
		}
	}
	if b.Len() > 0 {
		w.note("what the gateway saw (journal):\n%s", strings.TrimSpace(b.String()))
	}
}

func keys(m map[int]string) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func shortFP(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	if fp == "" {
		return "none"
	}
	return fp
}

func describeSubs(subs []control.Submission) string {
	var parts []string
	for _, s := range subs {
		parts = append(parts, fmt.Sprintf("%s/%s (%d bytes, ascii=%v)", s.Service, s.Name, s.Size, s.ASCII))
	}
	if len(parts) == 0 {
		return "no submission"
	}
	return strings.Join(parts, ", ")
}
