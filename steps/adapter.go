package steps

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/clientjudge"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// The client adapter of client certification: running it, and what the gateway saw of it.

type adapterRun struct {
	action string
	code   int
	output string
}

// runAdapter runs one adapter action and records its result as evidence.
func (x *clientSteps) runAdapter(action string, args ...string) error {
	a := x.suite.adapter
	p := x.suite.profile
	id, cert, ok := p.Identity(a.Identity)
	if !ok {
		return fmt.Errorf("the profile has no identity %q to give the client", a.Identity)
	}
	keyType := ""
	if cert != nil && cert.Leaf != nil {
		keyType = string(certs.KeyAlgorithmOf(cert.Leaf))
	}
	host, port, _ := net.SplitHostPort(p.Address)
	env := append(os.Environ(),
		"FTPSGW_HOST="+host, "FTPSGW_PORT="+port, "FTPSGW_CA="+p.Path(p.CA),
		"FTPSGW_CERT="+p.Path(id.Cert), "FTPSGW_KEY="+p.Path(id.Key),
		"FTPSGW_KEY_TYPE="+keyType,
		"FTPSGW_P12="+p.Path(id.P12), "FTPSGW_P12_PASSWORD="+id.P12Password,
		"FTPSGW_USERNAME="+id.Username, "FTPSGW_PASSWORD="+id.Password,
		"FTPSGW_STATE_DIR="+x.stateDir, "FTPSGW_FORMAT="+x.format,
	)
	res, err := target.RunCommand(x.ctx, a.Command, append([]string{action}, args...), env, a.Timeout)
	if err != nil {
		return fmt.Errorf("running the client: %w", err)
	}
	code, output := res.Code, res.Output
	x.adapter = adapterRun{action: action + " " + strings.Join(args, " "), code: code, output: output}
	x.noteOutput("client %s %s -> exit %d\n%s", action, strings.Join(args, " "), code, output)
	if code == target.ExitUnsupported {
		return x.unsupportedf("the client does not support %q (exit 127)", action)
	}
	return nil
}

// clientUpload makes a new local file and has the client upload it.
func (x *clientSteps) clientUpload(service, name string, data []byte) error {
	local := filepath.Join(x.workDir, name)
	if err := os.WriteFile(local, data, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	x.files = append(x.files, upFile{who: x.suite.adapter.Identity, service: service, name: name})
	x.localSums = append(x.localSums, hex.EncodeToString(sum[:]))
	return x.runAdapter("upload", local, service)
}

// events returns the journal since the scenario began (the gateway was reset for it, and
// only the client talks to it).
func (x *clientSteps) events(types ...control.EventType) ([]control.Event, error) {
	j, err := x.suite.api.Journal(x.ctx, control.JournalQuery{Types: types})
	if err != nil {
		return nil, err
	}
	return j.Events, nil
}

// clientFingerprint is the SHA-256 of the certificate the client was given.
func (x *clientSteps) clientFingerprint() string {
	_, cert, _ := x.suite.profile.Identity(x.suite.adapter.Identity)
	return certs.Fingerprint(cert.Leaf)
}

func (x *clientSteps) uploadsOf(name string) (int, error) {
	evs, err := x.events(control.EventUpload)
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

// waitReceiptsAPI waits (advancing a virtual clock) until the gateway has made receipts with
// these codes for the file, and keeps their content for comparison.
func (x *clientSteps) waitReceiptsAPI(f upFile, codes ...int) error {
	deadline := time.Now().Add(time.Duration(x.suite.profile.Timeouts.Receipt))
	var spent time.Duration
	for {
		rs, err := x.suite.api.Receipts(x.ctx, "")
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
				x.receipts[c] = found[c]
			}
			return nil
		}
		if time.Now().After(deadline) || spent > 10*time.Minute {
			return expected(fmt.Sprintf("receipts %v for %s", codes, f.name), "%v", keys(found))
		}
		if x.suite.virtual {
			if err := x.advance(time.Second); err != nil {
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
func (x *clientSteps) clientSucceeded() error {
	if x.adapter.code == 0 {
		return nil
	}
	err := expected("the client to succeed (exit 0)", "exit %d for %s: %s", x.adapter.code, x.adapter.action, target.LastLine(x.adapter.output))
	if cause := x.clientFailureCause(); cause != "" {
		return blockedBy(cause, err)
	}
	return err
}

// clientFailureCause names the client requirement the journal shows broken, or "".
func (x *clientSteps) clientFailureCause() catalogue.ID {
	evs, err := x.events(control.EventTLS, control.EventLogin, control.EventCommand)
	if err != nil {
		return ""
	}
	if refused, _ := refusedGenuineCertificate(evs); refused {
		return reqImpostor
	}
	fp := x.clientFingerprint()
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
		verb, arg, _ := strings.Cut(strings.ToUpper(e.Line), " ")
		if e.Type == control.EventCommand && (verb == "PORT" || verb == "EPRT" || verb == "PROT" && strings.TrimSpace(arg) != "P") {
			return reqDataProtected // active mode, or data in clear
		}
	}
	return ""
}

// judged is what a step that judges from the journal returns: when the journal holds
// nothing to judge because the client refused the genuine gateway's certificate, the
// failure is CL-TLS-04's to judge, not this requirement's.
func (x *clientSteps) judged(err error) error {
	var b *catalogue.BlockedError
	if err == nil || errors.As(err, &b) {
		return err
	}
	if evs, jerr := x.events(control.EventTLS, control.EventCommand); jerr == nil {
		if refused, why := refusedGenuineCertificate(evs); refused {
			return blockedBy(reqImpostor, fmt.Errorf("%w (the client refused the genuine gateway's certificate: %s)", err, why))
		}
	}
	return err
}

// reqImpostor judges the client's check of the gateway's certificate: the impostors refused,
// the genuine one accepted (its positive control).
const reqImpostor catalogue.ID = "CL-TLS-04"

// refusedGenuineCertificate: the journal (TLS and command events) shows the client refusing
// the genuine gateway's certificate: a handshake it ended with a certificate alert while no
// impostor was presented, or an AUTH TLS answered 234 in a session that never finished its
// handshake (a client that drops the connection without an alert). It says which.
func refusedGenuineCertificate(evs []control.Event) (bool, string) {
	return clientjudge.RefusedGenuineCertificate(evs)
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
func (x *clientSteps) journalEvidence() {
	evs, err := x.events(control.EventTLS, control.EventDataTLS, control.EventCommand, control.EventReply, control.EventLogin, control.EventUpload)
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
		x.noteBlock("what the gateway saw (journal):\n" + strings.TrimSpace(b.String()))
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
