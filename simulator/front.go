package simulator

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// front is the ftpserverlib driver of one listener (explicit or implicit). Sessions of the
// two listeners share the Gateway but not the library's client counter, hence the prefix.
type front struct {
	gw       *Gateway
	name     string // "e" explicit, "i" implicit
	settings *ftpserver.Settings
}

func (f *front) sessionID(libID uint32) string {
	return fmt.Sprintf("%s-%s%d", f.gw.boot, f.name, libID)
}

func (f *front) session(libID uint32) *session {
	return f.gw.sessions.get(f.sessionID(libID))
}

// GetSettings implements ftpserver.MainDriver.
func (f *front) GetSettings() (*ftpserver.Settings, error) { return f.settings, nil }

// GetTLSConfig implements ftpserver.MainDriver: one shared configuration for every call.
func (f *front) GetTLSConfig() (*tls.Config, error) { return f.gw.baseTLS, nil }

// ClientConnected implements ftpserver.MainDriver: the session exists before any TLS handshake.
func (f *front) ClientConnected(cc ftpserver.ClientContext) (string, error) {
	g := f.gw
	// ASCII until a TYPE command says otherwise: RFC 959's default, and the library's.
	s := &session{id: f.sessionID(cc.ID()), front: f, cc: cc, remote: cc.RemoteAddr().String(), ascii: true}
	s.ctx, s.cancel = context.WithCancel(g.life)
	if _, err := rand.Read(s.token[:]); err != nil {
		return "", err
	}
	// Debug on: the library then logs each command and reply, which libTap turns into the journal.
	cc.SetDebug(true)
	if msg := g.sessions.add(s, g.cfg.Limits); msg != "" {
		g.metrics.limits.WithLabelValues("sessions").Inc()
		g.journal.Append(control.Event{Session: s.id, Remote: s.remote, Type: control.EventConnect, OK: false, Reason: msg})
		return msg, errors.New(msg)
	}
	g.metrics.sessions.Inc()
	g.metrics.active.Inc()
	g.journal.Append(control.Event{Session: s.id, Remote: s.remote, Type: control.EventConnect, OK: true, Reason: f.describe()})
	return "ftpsgw TEST simulator of SKAT's FTPS gateway - not the real gateway", nil
}

// ClientDisconnected implements ftpserver.MainDriver.
func (f *front) ClientDisconnected(cc ftpserver.ClientContext) {
	g := f.gw
	if s := g.sessions.remove(f.sessionID(cc.ID())); s != nil {
		s.cancel()
		g.metrics.active.Dec()
		g.journal.Append(control.Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: control.EventDisconnect, OK: true})
	}
}

// onLineTooLong is called by libTap when the library ends a session on a command line longer
// than its 4096-byte buffer. The library closes the connection without a reply and offers no
// hook to send one (ftpserverlib v0.32.1, readCommand); the journal says why instead.
func (f *front) onLineTooLong(libID uint32, size string) {
	s := f.session(libID)
	if s == nil {
		return
	}
	reason := "a command line longer than 4096 bytes (read " + size + " bytes without an end of line): the connection is closed without a reply"
	f.gw.journal.Append(control.Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: control.EventDisconnect, OK: false, Reason: reason})
	f.gw.log.Info("session closed", "session", s.id, "remote", s.remote, "reason", reason)
}

// onStreamError is called by libTap when the library ends a control connection on a read
// error. A TLS error before the handshake verified anything means the handshake itself failed
// (the client refused the gateway's certificate, or spoke no TLS): that is journalled as a
// failed TLS event, and reported true so the library's ERROR line is not logged.
func (f *front) onStreamError(libID uint32, errText string) bool {
	s := f.session(libID)
	if s == nil || !strings.Contains(errText, "tls:") {
		return false
	}
	s.mu.Lock()
	first := !s.tlsOK && s.tlsErr == nil && !s.handshakeLost
	s.handshakeLost = true
	presented := s.presented
	s.mu.Unlock()
	if !first {
		return false
	}
	reason := "TLS handshake failed: " + errText
	if _, alert, ok := strings.Cut(errText, "remote error: tls: "); ok {
		reason = "the client ended the TLS handshake with the alert \"" + alert + "\""
		if certificateAlert(alert) {
			reason += ": it did not accept the gateway's certificate"
		}
		if presented != "" {
			reason += " (the impostor certificate " + presented + ")"
		}
	}
	f.gw.journal.Append(control.Event{Session: s.id, Remote: s.remote, Type: control.EventTLS, OK: false, Reason: reason})
	f.gw.log.Info("TLS handshake failed", "session", s.id, "remote", s.remote, "reason", reason)
	return true
}

// certificateAlert: a TLS alert (as Go names it) by which a client refuses the certificate
// it was shown (RFC 5246 7.2.2: bad_certificate, unsupported_certificate,
// certificate_revoked, certificate_expired, certificate_unknown, unknown_ca).
func certificateAlert(alert string) bool {
	return strings.Contains(alert, "certificate") || strings.Contains(alert, "unknown certificate authority")
}

var errTooManySessions = errors.New("too many sessions")

// onCommand is called by libTap for every command line received.
func (f *front) onCommand(libID uint32, line string) {
	s := f.session(libID)
	if s == nil {
		return
	}
	verb, arg, _ := strings.Cut(line, " ")
	if strings.EqualFold(verb, "TYPE") {
		s.mu.Lock()
		s.pendingType = strings.ToUpper(strings.TrimSpace(arg))
		s.mu.Unlock()
	}
	if addr := activeAddr(verb, arg); addr != "" {
		// Active mode (allowed only when the rules do not require passive mode): the data
		// connection the gateway dials to addr belongs to this session.
		f.gw.sessions.setActiveAddr(s, addr)
	}
	f.gw.journal.Append(control.Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: control.EventCommand, Line: redactCommand(line), OK: true})
}

// onReply is called by libTap for every reply line, before it is sent.
func (f *front) onReply(libID uint32, line string) {
	s := f.session(libID)
	if s == nil {
		return
	}
	code, text := parseReply(line)
	if port := passivePort(code, line); port > 0 {
		f.gw.sessions.setPassivePort(s, port)
	}
	s.mu.Lock()
	switch {
	case code == 0: // a middle line of a multi-line reply (FEAT): it carries the reply's code
		code = s.multiCode
	case len(line) > 3 && line[3] == '-':
		s.multiCode = code
	default:
		s.multiCode = 0
	}
	if s.pendingType != "" && code != 0 {
		if code == 200 {
			s.ascii = strings.HasPrefix(s.pendingType, "A")
		}
		s.pendingType = ""
	}
	s.mu.Unlock()
	f.gw.journal.Append(control.Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: control.EventReply, Code: code, Line: redactCommand(text), OK: code > 0 && code < 400})
}

// describe names the listener a connection came in on, for the journal.
func (f *front) describe() string {
	if f.name == "i" {
		return "implicit FTPS listener (TLS from the first byte)"
	}
	return "explicit FTPS listener (AUTH TLS)"
}

// newFront is the FTP front of one listener: ftpserverlib's settings from the gateway's
// settings and the rules the library enforces for it (passive mode only, protected data
// connections, TLS from the first byte on an implicit listener).
func newFront(g *Gateway, ln net.Listener, implicit bool) *front {
	cfg := g.cfg
	lo, hi, _ := ParsePortRange(cfg.PassivePorts)
	f := &front{gw: g, name: "e"}
	settings := &ftpserver.Settings{
		Listener:             ln,
		PublicHost:           cfg.PublicHost,
		IdleTimeout:          int(cfg.IdleTimeout.Std() / time.Second),
		ConnectionTimeout:    int(cfg.DataConnectTimeout.Std() / time.Second),
		TLSRequired:          ftpserver.MandatoryEncryption,
		DisableActiveMode:    false, // refused below with a permanent reply, not the library's 421
		DisableSite:          true,
		DisableMFMT:          true,
		DisableSTAT:          true,
		PasvConnectionsCheck: ftpserver.IPMatchRequired,
		Banner:               "ftpsgw",
		DefaultTransferType:  ftpserver.TransferTypeASCII, // RFC 959; the session's TYPE tracking starts here
	}
	if g.rules.Network.PassiveOnly {
		settings.ActiveConnectionsCheck = refuseActiveMode
	}
	if lo != 0 {
		settings.PassiveTransferPortRange = ftpserver.PortRange{Start: lo, End: hi}
	}
	if !g.rules.Data.RequireProtection {
		settings.TLSRequired = ftpserver.ClearOrEncrypted // control TLS is still enforced at USER
	}
	if implicit {
		f.name = "i"
		settings.Listener = tls.NewListener(ln, g.baseTLS)
		settings.TLSRequired = ftpserver.ImplicitEncryption
	}
	f.settings = settings
	return f
}
