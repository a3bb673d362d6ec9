package steps

import (
	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/clientjudge"
)

// Impostor gateways (CL-TLS-04): the simulator presents a certificate a correct client
// refuses, and the journal shows whether the client still sent its credentials or a file.

func (x *clientSteps) registerTrust(sc *godog.ScenarioContext) {
	sc.Step(`^the gateway presents a certificate from a CA the client was not told to trust$`, x.presentForeignCA)
	sc.Step(`^the gateway presents a trusted certificate made out to another host$`, x.presentWrongHost)
	sc.Step(`^the gateway saw the client send neither credentials nor a file$`, x.sawNothingSentToImpostor)
	sc.Step(`^every upload the gateway saw ended with a TLS close_notify$`, x.sawCloseNotify)
}

// sawCloseNotify passes when every upload the journal holds ended its TLS data connection
// with close_notify: a bare TCP FIN is indistinguishable from a truncation.
func (x *clientSteps) sawCloseNotify() error {
	evs, err := x.events(control.EventUpload)
	if err != nil {
		return err
	}
	err = clientjudge.CloseNotify(evs)
	if clientjudge.IsNotExercised(err) {
		return x.judged(err)
	}
	return err
}

func (x *clientSteps) presentForeignCA() error { return x.presentImpostor(control.ImpostorForeignCA) }
func (x *clientSteps) presentWrongHost() error { return x.presentImpostor(control.ImpostorWrongHost) }

func (x *clientSteps) presentImpostor(name string) error {
	j, err := x.suite.api.Journal(x.ctx, control.JournalQuery{})
	if err != nil {
		return err
	}
	x.impostorFrom = j.LastSeq // what the client does from here on meets the impostor
	f, err := x.suite.api.Faults(x.ctx)
	if err != nil {
		return err
	}
	f.ServerCertificate = name
	return x.suite.api.SetFaults(x.ctx, f)
}

// sawNothingSentToImpostor passes when the client reached the gateway and started TLS (so it
// was shown the impostor) and sent no USER, PASS or upload afterwards.
func (x *clientSteps) sawNothingSentToImpostor() error {
	evs, err := x.events(control.EventCommand, control.EventUpload)
	if err != nil {
		return err
	}
	err = clientjudge.NothingSentAfter(evs, x.impostorFrom)
	if clientjudge.IsNotExercised(err) {
		return expected("the client to connect and start TLS (AUTH TLS), to be shown the impostor certificate",
			"no AUTH command: the client never reached the gateway, so its check of the certificate was not seen")
	}
	return err
}
