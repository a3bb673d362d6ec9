// Package clientjudge judges a client's traffic, as a gateway's journal records it, against
// the client requirements (features/client): one set of rules for both ways a client is
// certified, driven through an adapter by the client scenarios (steps) or observed while a
// product does its own work (steps/observe). A rule answers nil (kept), an error saying what
// was expected and what was seen (broken), or a *NotExercised (the traffic gave it nothing
// to judge). It imports only the control API's types.
package clientjudge

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// NotExercised: the traffic held nothing this rule judges.
type NotExercised struct {
	// Missing is what the traffic lacked ("a transfer", "a TLS handshake").
	Missing string
}

func (e *NotExercised) Error() string { return "expected " + e.Missing + "; saw none" }

// IsNotExercised reports whether err says the rule had nothing to judge.
func IsNotExercised(err error) bool {
	var n *NotExercised
	return errors.As(err, &n)
}

// Expected is a broken rule: what was expected and what was seen.
func Expected(what, seenFormat string, a ...any) error {
	return fmt.Errorf("expected %s; saw %s", what, fmt.Sprintf(seenFormat, a...))
}

func verbOf(line string) (string, string) {
	verb, arg, _ := strings.Cut(strings.ToUpper(strings.TrimSpace(line)), " ")
	return verb, strings.TrimSpace(arg)
}

// RefusedGenuineCertificate: the client ended a TLS handshake because it did not accept the
// genuine gateway's certificate (not an impostor's), or sent AUTH TLS and never finished a
// handshake. Its check of the gateway's certificate is then wrong, and that is CL-TLS-04's
// to judge; what it could not do is blocked by it.
func RefusedGenuineCertificate(evs []control.Event) (bool, string) {
	authed := map[string]bool{}
	handshook := map[string]bool{}
	for _, e := range evs {
		switch {
		case e.Type == control.EventTLS && !e.OK && strings.Contains(e.Reason, "did not accept the gateway's certificate") &&
			!strings.Contains(e.Reason, "impostor"):
			return true, e.Reason
		case e.Type == control.EventTLS:
			handshook[e.Session] = true
		case e.Type == control.EventCommand && strings.HasPrefix(strings.ToUpper(e.Line), "AUTH "):
			authed[e.Session] = true
		}
	}
	for session := range authed {
		if !handshook[session] {
			return true, "session " + session + " sent AUTH TLS and ended the connection in the TLS handshake"
		}
	}
	return false, ""
}

// TLS12WithCertificate (CL-TLS-01): every control connection's handshake is TLS 1.2 with one
// of the client's certificates (their SHA-256 fingerprints).
func TLS12WithCertificate(evs []control.Event, fingerprints ...string) error {
	n := 0
	for _, e := range evs {
		if e.Type != control.EventTLS {
			continue
		}
		n++
		ok := e.TLSVersion == "TLS1.2"
		known := false
		for _, fp := range fingerprints {
			known = known || (fp != "" && e.Fingerprint == fp)
		}
		if !ok || !known {
			want := "TLS1.2 with the client's certificate"
			if len(fingerprints) == 1 {
				want += " " + short(fingerprints[0])
			}
			return Expected(want, "%s with certificate %q (%s)", orNone(e.TLSVersion), short(e.Fingerprint), e.Reason)
		}
	}
	if n == 0 {
		return &NotExercised{"a TLS handshake (did the client send AUTH TLS?)"}
	}
	return nil
}

// ProtPBeforeTransfers (CL-TLS-02): PROT P in the session before every transfer.
func ProtPBeforeTransfers(evs []control.Event) error {
	prot := map[string]string{}
	transfers := 0
	for _, e := range evs {
		if e.Type != control.EventCommand {
			continue
		}
		verb, arg := verbOf(e.Line)
		switch verb {
		case "PROT":
			prot[e.Session] = arg
		case "STOR", "RETR", "LIST", "NLST", "MLSD", "APPE":
			transfers++
			if prot[e.Session] != "P" {
				return Expected("PROT P before "+verb, "PROT %q in session %s", prot[e.Session], e.Session)
			}
		}
	}
	if transfers == 0 {
		return &NotExercised{"at least one transfer"}
	}
	return nil
}

// NoActiveMode (CL-TLS-02): no PORT or EPRT.
func NoActiveMode(evs []control.Event) error {
	n := 0
	for _, e := range evs {
		if e.Type != control.EventCommand {
			continue
		}
		n++
		if verb, _ := verbOf(e.Line); verb == "PORT" || verb == "EPRT" {
			return Expected("passive mode only", "%q", e.Line)
		}
	}
	if n == 0 {
		return &NotExercised{"a command"}
	}
	return nil
}

func dataTLS(evs []control.Event) []control.Event {
	var out []control.Event
	for _, e := range evs {
		if e.Type == control.EventDataTLS {
			out = append(out, e)
		}
	}
	return out
}

// DataTLS (CL-TLS-02): every data connection used TLS.
func DataTLS(evs []control.Event) error {
	d := dataTLS(evs)
	if len(d) == 0 {
		return &NotExercised{"TLS-protected data connections"}
	}
	for _, e := range d {
		if e.TLSVersion == "" {
			return Expected("TLS on the data connection", "%+v", e)
		}
	}
	return nil
}

// DataResumed (CL-TLS-03): every data connection resumed its control connection's session.
func DataResumed(evs []control.Event) error {
	d := dataTLS(evs)
	if len(d) == 0 {
		return &NotExercised{"TLS data connections that resume the control connection's session"}
	}
	for _, e := range d {
		if !e.Resumed {
			return Expected("the data connection to resume the control connection's TLS session", "a full handshake (%s)", e.TLSVersion)
		}
	}
	return nil
}

// CloseNotify (CL-TLS-02): every accepted upload's TLS data connection ended with
// close_notify (a bare TCP FIN cannot be told from a truncation).
func CloseNotify(evs []control.Event) error {
	n := 0
	for _, e := range evs {
		if e.Type != control.EventUpload || !e.OK {
			continue
		}
		n++
		if strings.Contains(e.Reason, control.ReasonNoCloseNotify) {
			return Expected("the upload's data connection closed with TLS close_notify (the end of the file, not a possible truncation)",
				"%s: %s", e.Path, e.Reason)
		}
	}
	if n == 0 {
		return &NotExercised{"an upload"}
	}
	return nil
}

// OwnUsername (CL-AUTH-01): every login is the username of the certificate its session
// presented (usernames: certificate fingerprint → its username), and none is refused.
func OwnUsername(evs []control.Event, usernames map[string]string) error {
	fpOf := map[string]string{}
	n := 0
	for _, e := range evs {
		switch e.Type {
		case control.EventTLS:
			fpOf[e.Session] = e.Fingerprint
		case control.EventLogin:
			n++
			want, known := usernames[fpOf[e.Session]]
			if !known && len(usernames) == 1 {
				for _, u := range usernames {
					want = u
				}
			}
			if !e.OK || e.Username != want {
				return Expected("logins as "+orNone(want)+" that succeed", "%q ok=%v %s", e.Username, e.OK, e.Reason)
			}
		}
	}
	if n == 0 {
		return &NotExercised{"a login"}
	}
	return nil
}

// NothingSentAfter (CL-TLS-04): after the journal's event from (when an impostor certificate
// was presented), the client started TLS and sent no credentials and no file.
func NothingSentAfter(evs []control.Event, from int64) error {
	var sent []string
	started := false
	for _, e := range evs {
		if e.Seq <= from {
			continue // the positive control, before the impostor was presented
		}
		verb, _ := verbOf(e.Line)
		switch {
		case e.Type == control.EventUpload:
			sent = append(sent, "uploaded "+e.Path)
		case e.Type != control.EventCommand:
		case verb == "AUTH":
			started = true
		case verb == "USER" || verb == "PASS" || verb == "ACCT", verb == "STOR" || verb == "APPE" || verb == "STOU":
			sent = append(sent, strings.TrimSpace(e.Line))
		}
	}
	if len(sent) > 0 {
		return Expected("the client to end the connection at the impostor's certificate",
			"it went on through the impostor: %s", strings.Join(sent, "; "))
	}
	if !started {
		return &NotExercised{"the client to connect and start TLS (AUTH TLS), to be shown the impostor certificate"}
	}
	return nil
}

// ReusedNames (CL-NAME-01): the uploads the gateway took under a name used before.
func ReusedNames(evs []control.Event) error {
	n := 0
	for _, e := range evs {
		if e.Type != control.EventUpload || !e.OK {
			continue
		}
		n++
		if strings.Contains(e.Reason, "FILENAME_CANNOT_BE_REUSED") {
			return Expected("a new name for every submission", "%s sent again under a name used before (the gateway answers it with status_0)", e.Path)
		}
	}
	if n == 0 {
		return &NotExercised{"an upload"}
	}
	return nil
}

func short(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return orNone(fp)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
