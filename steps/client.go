package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/clientjudge"
	"github.com/ftpsgw/ftpsgw/steps/statusfile"
)

// RegisterClient registers the client-certification hooks and steps (a Suite made by
// ForClient): the client's actions through its adapter, judgements from the simulator's
// journal, and the shared steps that put the simulator into a state.
func (s *Suite) RegisterClient(sc *godog.ScenarioContext) *World {
	w := newWorld(s)
	x := &clientSteps{World: w, format: "binary"}
	sc.Before(func(ctx context.Context, scn *godog.Scenario) (context.Context, error) {
		ctx = w.begin(ctx)
		dir, err := os.MkdirTemp("", "ftpsgw-client-")
		if err != nil {
			return ctx, err
		}
		x.workDir, x.stateDir, x.receiptDir = dir, filepath.Join(dir, "state"), filepath.Join(dir, "receipts")
		for _, d := range []string{x.stateDir, x.receiptDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return ctx, err
			}
		}
		return ctx, s.api.Reset(ctx)
	})
	sc.After(func(ctx context.Context, scn *godog.Scenario, err error) (context.Context, error) {
		if err != nil && w.unsupported == "" {
			x.journalEvidence()
		}
		w.close()
		os.RemoveAll(x.workDir)
		return ctx, nil
	})
	x.register(sc)
	(&stateSteps{World: w}).register(sc)
	return w
}

// reqDataProtected judges that the client's data connections are protected (PROT P, TLS).
const reqDataProtected catalogue.ID = "CL-TLS-02"

// clientSteps: client certification (features/client/*.feature).
type clientSteps struct {
	*World
	adapter    adapterRun // the client's last action
	workDir    string     // the scenario's folder: state and receipts below it
	stateDir   string     // FTPSGW_STATE_DIR
	receiptDir string     // where the client puts the receipts it fetches
	format     string     // FTPSGW_FORMAT: binary or fixed-record
	localSums  []string   // SHA-256 of the files the client was given
	// impostorFrom is the journal's last sequence number when an impostor certificate was
	// presented: the impostor check reads only what came after it.
	impostorFrom int64
}

func (x *clientSteps) register(sc *godog.ScenarioContext) {
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
	x.registerTrust(sc)
}

func (x *clientSteps) uploadsNewFile(service string) error {
	return x.clientUpload(service, x.newName(""), []byte("ftpsgw client certification\r\n"))
}

func (x *clientSteps) hasUploadedNewFile(service string) error {
	if err := x.uploadsNewFile(service); err != nil {
		return err
	}
	return x.clientSucceeded()
}

func (x *clientSteps) uploadsNewFiles(n int, service string) error {
	for range n {
		if err := x.uploadsNewFile(service); err != nil {
			return err
		}
	}
	return nil
}

func (x *clientSteps) uploadsFixedRecord(service string) error {
	x.format = "fixed-record"
	return x.clientUpload(service, x.newName(""), []byte("0123456789\r\nABCDEFGHIJ\r\n"))
}

func (x *clientSteps) hasUploadedFixedRecord(service string) error {
	if err := x.uploadsFixedRecord(service); err != nil {
		return err
	}
	return x.clientSucceeded()
}

func (x *clientSteps) askedToReuseName(service string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	return x.clientUpload(service, f.name, []byte("a different file under a name already submitted\r\n"))
}

func (x *clientSteps) fetchesReceipts() error { return x.runAdapter("receipts", x.receiptDir) }

func (x *clientSteps) reportsFailure() error {
	if x.adapter.code == 0 {
		return expected("the client to refuse (non-zero exit)", "exit 0 for %s", x.adapter.action)
	}
	return nil
}

func (x *clientSteps) sawOnlyTLS12WithCertificate() error {
	evs, err := x.events(control.EventTLS, control.EventCommand)
	if err != nil {
		return err
	}
	if refused, why := clientjudge.RefusedGenuineCertificate(evs); refused {
		// The client spoke TLS but would not trust the gateway: whether it checks the
		// gateway's certificate rightly is CL-TLS-04's to judge.
		return blockedBy(reqImpostor, expected("a TLS 1.2 handshake with the client's certificate", "the client refused the genuine gateway's certificate: %s", why))
	}
	return clientjudge.TLS12WithCertificate(evs, x.clientFingerprint())
}

func (x *clientSteps) sawProtPBeforeTransfers() error {
	evs, err := x.events(control.EventCommand)
	if err != nil {
		return err
	}
	return x.judged(clientjudge.ProtPBeforeTransfers(evs))
}

func (x *clientSteps) sawNoActiveMode() error {
	evs, err := x.events(control.EventCommand)
	if err != nil {
		return err
	}
	if err := clientjudge.NoActiveMode(evs); err != nil && !clientjudge.IsNotExercised(err) {
		return err
	}
	return nil
}

func (x *clientSteps) sawDataTLS() error {
	evs, err := x.events(control.EventDataTLS)
	if err != nil {
		return err
	}
	return x.judged(clientjudge.DataTLS(evs))
}

func (x *clientSteps) sawDataResumed() error {
	evs, err := x.events(control.EventDataTLS)
	if err != nil {
		return err
	}
	err = clientjudge.DataResumed(evs)
	if clientjudge.IsNotExercised(err) {
		// No data connection used TLS at all (PROT C): one mistake, CL-TLS-02's to judge.
		return blockedBy(reqDataProtected, err)
	}
	return x.judged(err)
}

func (x *clientSteps) sawOwnUsername() error {
	evs, err := x.events(control.EventTLS, control.EventLogin)
	if err != nil {
		return err
	}
	_, cert, _ := x.suite.profile.Identity(x.suite.adapter.Identity)
	id, _ := certs.FromCertificate(cert.Leaf)
	return x.judged(clientjudge.OwnUsername(evs, map[string]string{certs.Fingerprint(cert.Leaf): id.Username()}))
}

func (x *clientSteps) sawUploadedOnce() error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	n, err := x.uploadsOf(f.name)
	if err != nil {
		return err
	}
	if n != 1 {
		return x.judged(expected("exactly one completed upload of "+f.name, "%d", n))
	}
	return nil
}

func (x *clientSteps) sawReconnect() error {
	evs, err := x.events(control.EventConnect)
	if err != nil {
		return err
	}
	if len(evs) < 2 {
		return x.judged(expected("a reconnection after the dropped connection", "%d connection(s)", len(evs)))
	}
	return nil
}

func (x *clientSteps) sawUploadsUnderNames(n, distinct int) error {
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
		return x.judged(expected(fmt.Sprintf("%d uploads under %d names", n, distinct), "%v", names))
	}
	return nil
}

func (x *clientSteps) arrivedWhole(service string) error {
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
	return x.judged(expected(fmt.Sprintf("%s in %s with SHA-256 %s", f.name, service, x.localSums[len(x.localSums)-1][:16]), "%s", describeSubs(subs)))
}

func (x *clientSteps) recordedASCII() error {
	f, _ := x.lastFile()
	subs, err := x.suite.api.Submissions(x.ctx, "")
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Name == f.name {
			if !sub.ASCII {
				return x.judged(expected(f.name+" uploaded with TYPE A", "binary (TYPE I)"))
			}
			return nil
		}
	}
	return x.judged(expected("a submission "+f.name, "%s", describeSubs(subs)))
}

func (x *clientSteps) dropAtNext(at string) error {
	f := control.Faults{DropAtLogin: 1}
	if at == "STOR" {
		f = control.Faults{DropAtStor: 1}
	}
	return x.suite.api.SetFaults(x.ctx, f)
}

func (x *clientSteps) backendRequiresASCII(service string) error {
	_, err := x.suite.api.SetBackend(x.ctx, control.Backend{Services: map[string]control.ServiceRule{
		service: {Action: "accept", Delay: "1s", RequireASCII: true}}})
	return err
}

func (x *clientSteps) gatewayPutReceipts(list string) error {
	f, err := x.lastFile()
	if err != nil {
		return err
	}
	return x.waitReceiptsAPI(f, parseCodes(list)...)
}

func (x *clientSteps) receiptFolderHolds(list string) error {
	// Fetching receipts unchanged is CL-STAT-01's rule, also where another scenario needs it.
	return blockedBy("CL-STAT-01", x.receiptFolderHoldsCodes(list))
}

func (x *clientSteps) receiptFolderHoldsCodes(list string) error {
	f, _ := x.lastFile()
	for _, code := range parseCodes(list) {
		name := statusfile.Name(f.service, f.name, code)
		got, err := os.ReadFile(filepath.Join(x.receiptDir, name))
		if err != nil {
			entries, _ := os.ReadDir(x.receiptDir)
			var have []string
			for _, e := range entries {
				have = append(have, e.Name())
			}
			return x.judged(expected(name+" in the client's receipt folder", "%v", have))
		}
		if want := x.receipts[code]; string(got) != want {
			return x.judged(expected(name+" byte for byte as in /out ("+fmt.Sprint(len(want))+" bytes)", "%s", describeDiff(got, []byte(want))))
		}
	}
	return nil
}
