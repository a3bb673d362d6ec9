package steps

import (
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// tlsSteps: the TLS version, client certificates, and protection of data connections
// (features/tls.feature).
type tlsSteps struct {
	*World
	clearData int // bytes seen on a clear data connection
}

func (x *tlsSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" connects offering only TLS (1\.[0-3])$`, x.connectOffering)
	sc.Step(`^the TLS handshake succeeds with TLS 1\.2 and an AEAD cipher suite$`, x.handshakeSucceeds)
	sc.Step(`^the TLS handshake is refused$`, x.handshakeRefused)
	sc.Step(`^every data connection used TLS 1\.2$`, x.everyDataConnectionUsedTLS12)
	sc.Step(`^every data connection resumed the control connection's TLS session$`, x.everyDataConnectionResumed)
	sc.Step(`^"([^"]*)" turns data protection off with PROT C$`, x.protC)
	sc.Step(`^an upload over a clear data connection is refused$`, x.clearUploadRefused)
	sc.Step(`^a listing over a clear data connection is refused$`, x.clearListingRefused)
	sc.Step(`^no data flowed in clear$`, x.noClearData)
	sc.Step(`^"([^"]*)" uploads over a data connection with a fresh TLS session$`, x.uploadFreshSession)
	sc.Step(`^"([^"]*)" opens a data connection offering only TLS (1\.[0-3])$`, x.dataConnectionOffering)
	sc.Step(`^the data connection's TLS handshake is refused$`, x.dataHandshakeRefused)
	sc.Step(`^"([^"]*)" uploads a new file to "([^"]*)" and ends the data connection without close_notify$`, x.uploadWithoutCloseNotify)
}

func (x *tlsSteps) handshakeSucceeds() error {
	if x.tlsErr != nil {
		return expected("a TLS 1.2 handshake", "%v", x.tlsErr)
	}
	if !strings.HasPrefix(x.tlsState, "TLS1.2 ") || !(strings.Contains(x.tlsState, "GCM") || strings.Contains(x.tlsState, "CHACHA20")) {
		return expected("TLS 1.2 with an AEAD (GCM or ChaCha20-Poly1305) suite", "%s", x.tlsState)
	}
	return nil
}

func (x *tlsSteps) handshakeRefused() error {
	if x.tlsErr == nil {
		return expected("the handshake to fail", "it succeeded: %s", x.tlsState)
	}
	return nil
}

func (x *tlsSteps) everyDataConnectionUsedTLS12() error {
	return x.eachDataTLS(func(st tls.ConnectionState) error {
		if st.Version != tls.VersionTLS12 || !st.HandshakeComplete {
			return expected("a completed TLS 1.2 handshake", "version %x, complete %v", st.Version, st.HandshakeComplete)
		}
		return nil
	})
}

func (x *tlsSteps) everyDataConnectionResumed() error {
	return x.eachDataTLS(func(st tls.ConnectionState) error {
		if !st.DidResume {
			return expected("the data connection to resume the control connection's session", "a full handshake")
		}
		return nil
	})
}

func (x *tlsSteps) protC(who string) error {
	code, msg, err := x.raw.Cmd("PROT C")
	x.note("PROT C -> %d %s", code, msg)
	return err
}

func (x *tlsSteps) clearUploadRefused() error {
	return x.clearTransfer("STOR /FTPSGW.Heartbeat/"+x.newName(""), true)
}

func (x *tlsSteps) clearListingRefused() error { return x.clearTransfer("LIST /", false) }

// dataConnectionOffering opens a data connection for a listing and offers only one TLS
// version on it (a fresh session: nothing to resume).
func (x *tlsSteps) dataConnectionOffering(who, version string) error {
	v := tlsVersions[version]
	r := x.raw
	conn, err := r.OpenData(x.ctx, false)
	if err != nil {
		return err
	}
	defer conn.Close()
	code, msg, err := r.Cmd("NLST /")
	if err != nil {
		return err
	}
	x.note("NLST / -> %d %s", code, msg)
	if isRefused(code) {
		return expected("the listing to start (1xx) so the data connection's TLS can be tried", "%d %s", code, msg)
	}
	cfg := r.TLSConfig().Clone()
	cfg.MinVersion, cfg.MaxVersion, cfg.ClientSessionCache = v, v, nil
	tc := tls.Client(conn, cfg)
	_ = conn.SetDeadline(time.Now().Add(time.Duration(x.suite.profile.Timeouts.Operation)))
	x.tlsErr = tc.HandshakeContext(x.ctx)
	x.tlsState = ""
	if x.tlsErr == nil {
		x.tlsState = describeTLS(tc.ConnectionState())
	}
	x.note("data connection offering only TLS %s: %s", version, tlsOutcome(x.tlsState, x.tlsErr))
	conn.Close()
	final, fmsg, _ := r.ReadReply()
	x.note("then %d %s", final, fmsg)
	return nil
}

func (x *tlsSteps) dataHandshakeRefused() error {
	if x.tlsErr == nil {
		return expected("the data connection's handshake to fail", "it succeeded: %s", x.tlsState)
	}
	return nil
}

var tlsVersions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

func (x *tlsSteps) noClearData() error {
	if n := x.clearData; n > 0 {
		return expected("no byte on a clear data connection", "%d bytes", n)
	}
	return nil
}

// connectOffering connects as who, offering exactly one TLS version.
func (x *tlsSteps) connectOffering(who, version string) error {
	opts, _, err := x.options(who)
	if err != nil {
		return err
	}
	v := tlsVersions[version]
	opts.MinVersion, opts.MaxVersion = v, v
	if opts.Implicit {
		r, err := ftpsclient.DialRaw(x.ctx, opts)
		x.tlsErr = err
		if err == nil {
			st, _ := r.ConnectionState()
			x.tlsState = describeTLS(st)
			r.Close()
		}
		x.note("TLS %s offered: %s", version, tlsOutcome(x.tlsState, x.tlsErr))
		return nil
	}
	r, err := ftpsclient.DialRaw(x.ctx, opts)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer r.Close()
	st, err := r.AuthTLS(x.ctx)
	if err == nil {
		// TLS 1.2: a server may refuse after the client finished; one command makes sure.
		if _, _, cmdErr := r.Cmd("NOOP"); cmdErr != nil {
			err = cmdErr
		}
	}
	x.tlsErr = err
	if err == nil {
		x.tlsState = describeTLS(st)
	}
	x.note("TLS %s offered: %s", version, tlsOutcome(x.tlsState, x.tlsErr))
	return nil
}

// tlsOutcome is a handshake for evidence: what was agreed, or why it failed.
func tlsOutcome(state string, err error) string {
	if err != nil {
		return "refused: " + err.Error()
	}
	return "accepted: " + state
}

func describeTLS(st tls.ConnectionState) string {
	v := map[uint16]string{tls.VersionTLS10: "TLS1.0", tls.VersionTLS11: "TLS1.1", tls.VersionTLS12: "TLS1.2", tls.VersionTLS13: "TLS1.3"}[st.Version]
	return v + " " + tls.CipherSuiteName(st.CipherSuite)
}

func (x *tlsSteps) eachDataTLS(check func(tls.ConnectionState) error) error {
	var states []tls.ConnectionState
	for _, c := range x.clients {
		states = append(states, c.DataTLS()...)
	}
	if len(states) == 0 {
		return expected("at least one data connection", "none")
	}
	for i, st := range states {
		x.note("data connection %d: %s resumed=%v", i+1, describeTLS(st), st.DidResume)
		if err := check(st); err != nil {
			return fmt.Errorf("data connection %d: %w", i+1, err)
		}
	}
	return nil
}

// clearTransfer runs a command over a data connection without TLS and counts clear bytes.
// Refused means no byte flowed in clear and no 2xx came: a server may refuse at once (4xx/5xx),
// or answer 150 and wait for a TLS handshake on the data connection (ProFTPD after 534 to
// PROT C): the data connection is closed before the final reply is read, so that wait ends.
func (x *tlsSteps) clearTransfer(cmd string, upload bool) error {
	r := x.raw
	data, err := r.OpenData(x.ctx, false)
	if err != nil {
		return err
	}
	defer data.Close()
	code, msg, err := r.Cmd("%s", cmd)
	if err != nil {
		return err
	}
	x.note("%s over a clear data connection -> %d %s", cmd, code, msg)
	if isRefused(code) {
		return nil
	}
	n := 0
	if upload {
		n, _ = data.Write([]byte("clear text payload\r\n"))
	} else {
		_ = data.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(data)
		n = len(b)
	}
	data.Close()
	final, fmsg, ferr := r.ReadReply()
	x.note("after %d bytes in clear: %s", n, replyText(final, fmsg, ferr))
	accepted := final >= 200 && final < 300
	if upload && accepted {
		x.clearData += n
		return expected(cmd+" to be refused", "%d then %d: the file was accepted over a clear connection", code, final)
	}
	if !upload && n > 0 {
		x.clearData += n
		return expected(cmd+" to be refused", "%d, %d bytes in clear, then %d", code, n, final)
	}
	return nil
}

// uploadFreshSession uploads over a data connection whose TLS session is not the control's.
func (x *tlsSteps) uploadFreshSession(who string) error {
	r := x.raw
	opts, _, err := x.options(who)
	if err != nil {
		return err
	}
	conn, err := r.OpenData(x.ctx, false)
	if err != nil {
		return err
	}
	tc := tls.Client(conn, opts.TLSConfig()) // a new session cache: nothing to resume
	defer tc.Close()
	name := "/FTPSGW.Heartbeat/" + x.newName("")
	code, msg, err := r.Cmd("STOR %s", name)
	if err != nil {
		return err
	}
	x.upload = uploadResult{code: code}
	if isRefused(code) {
		x.upload.err = fmt.Errorf("%d %s", code, msg)
		return nil
	}
	_, werr := tc.Write([]byte("fresh session\r\n"))
	tc.Close()
	final, fmsg, _ := r.ReadReply()
	x.note("STOR over a fresh TLS session: %d %s; writing the file: %s; then %s", code, msg, errText(werr), replyText(final, fmsg, nil))
	if isRefused(final) || werr != nil {
		x.upload = uploadResult{err: fmt.Errorf("%d %s", final, fmsg), code: final}
	}
	return nil
}

// uploadWithoutCloseNotify sends a file and ends the data connection with a bare TCP FIN at a
// TLS record boundary, no close_notify: what a truncating attacker (or a careless client)
// leaves, and what crypto/tls and most servers read as a clean end of file.
func (x *tlsSteps) uploadWithoutCloseNotify(who, service string) error {
	r := x.raw
	conn, err := r.OpenData(x.ctx, true)
	if err != nil {
		return err
	}
	defer conn.Close()
	name := x.newName("")
	code, msg, err := r.Cmd("STOR /%s/%s", service, name)
	if err != nil {
		return err
	}
	x.files = append(x.files, upFile{who: who, service: service, name: name})
	x.upload = uploadResult{code: code}
	if isRefused(code) {
		x.upload.err = fmt.Errorf("%d %s", code, msg)
		return expected("the upload to start (1xx), so its end can be tried", "%d %s", code, msg)
	}
	_, werr := conn.Write([]byte("the first part of a file that never ends\r\n"))
	if tc, ok := conn.(*tls.Conn); ok {
		tc.NetConn().Close() // TCP FIN, no alert
	}
	final, fmsg, rerr := r.ReadReply()
	x.note("STOR %s ended without close_notify: %d %s; writing the file: %s; then %s", name, code, msg, errText(werr), replyText(final, fmsg, rerr))
	if rerr != nil {
		return rerr
	}
	if werr != nil {
		// The file never went over a protected data connection, so its end was not tried: a
		// refusal now proves nothing about close_notify. Protected data connections are
		// GW-TLS-03's to judge.
		return blockedBy(reqDataTLS, expected("the file sent over the TLS data connection, to try how its end is taken", "%v", werr))
	}
	x.files[len(x.files)-1].err = nil
	if isRefused(final) {
		x.upload = uploadResult{err: fmt.Errorf("%d %s", final, fmsg), code: final}
		x.files[len(x.files)-1].err = x.upload.err
	}
	return nil
}
