package simulator

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/ftpsgw/ftpsgw/certs"
)

// Gateway is the state shared by the simulator's FTPS listeners: the rules it enforces, the
// store, the journal, the trust anchors, and its run-time parts, each with a lock of its own
// (sessions, roles, login limiter, receipt pipeline, backend link, replication, faults).
type Gateway struct {
	cfg     Config
	rules   Rules // what this gateway enforces (RulesFor(cfg))
	clock   Clock
	store   *Store
	journal *Journal
	log     *slog.Logger
	dataDir string
	trust   *trust
	baseTLS *tls.Config
	// impostors are the PKI's impostor gateway certificates, presented instead of the genuine
	// one while the control API's faults.server_certificate names one (client certification).
	impostors map[string]tls.Certificate
	limiter   *loginLimiter
	boot      string // distinguishes session ids across restarts
	metrics   *metrics
	addrs     Ready // listener addresses, for /health
	m         *certs.Manifest

	// The parts of the run-time state, each owning its lock.
	pipe     pipelineState  // the receipt pipeline's loop, lock and queue count
	link     *backendLink   // backend settings and the link's failures
	repl     *replication   // replication of the security system
	faults   *faultInjector // connection drops armed through the control API
	lease    leaseHolder    // the certification run that may change the simulator
	backend  Backend        // embedded or `ftpsgw backend`
	security SecuritySystem // embedded or `ftpsgw security`

	drain    drainState    // graceful stop: uploads in flight (own lock)
	sessions *sessionTable // live sessions (own lock)
	roles    *roleView     // username -> current roles (own lock)
}

// session is one control connection and everything learned about it.
type session struct {
	id     string
	front  *front
	cc     ftpserver.ClientContext
	remote string
	token  [16]byte // binds TLS tickets to this control connection

	mu             sync.Mutex
	tlsOK          bool
	tlsErr         error
	cert           *x509.Certificate
	identity       certs.Identity
	identityErr    error
	username       string // set once logged in
	cvr            string
	ascii          bool   // TYPE A in effect
	pendingType    string // TYPE argument awaiting its 200
	passivePorts   []int
	foreignTicket  bool
	presented      string         // the impostor certificate its control connection was given, if any
	dataConn       *recordWatcher // the passive data connection of the transfer in progress
	dataTLSVersion uint16         // its TLS version (0: none yet)
	uploads        int            // uploads in flight (drainState)
	uploadEnded    time.Time      // when the last one ended
	handshakeLost  bool           // a failed control handshake is journalled
	multiCode      int            // the code of the multi-line reply being sent
}

func (s *session) setDataConn(w *recordWatcher) {
	s.mu.Lock()
	s.dataConn = w
	s.mu.Unlock()
}

// currentDataConn is the upload's data connection, when its end can be judged: passive,
// and TLS 1.2, whose record headers show an alert in clear (TLS 1.3 hides the record type).
func (s *session) currentDataConn() *recordWatcher {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dataTLSVersion != tls.VersionTLS12 {
		return nil
	}
	return s.dataConn
}

func (s *session) setPresented(impostor string) {
	s.mu.Lock()
	s.presented = impostor
	s.mu.Unlock()
}

func (s *session) setForeignTicket() {
	s.mu.Lock()
	s.foreignTicket = true
	s.mu.Unlock()
}

func (s *session) user() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.username
}

// front is the ftpserverlib driver of one listener (explicit or implicit). Sessions of the
// two listeners share the Gateway but not the library's client counter, hence the prefix.
type front struct {
	gw       *Gateway
	name     string // "e" explicit, "i" implicit
	settings *ftpserver.Settings
}

func (g *Gateway) sessionID(f *front, libID uint32) string {
	return fmt.Sprintf("%s-%s%d", g.boot, f.name, libID)
}

func (g *Gateway) session(f *front, libID uint32) *session {
	return g.sessions.get(g.sessionID(f, libID))
}

// injectFault consumes one armed fault of a kind and, if one was armed, closes the session's
// control connection (the client sees it dropped).
func (g *Gateway) injectFault(s *session, atLogin bool) bool {
	if !g.faults.take(atLogin) {
		return false
	}
	c := g.sessions.conn(s.remote)
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: EventDisconnect, Reason: "fault injected: control connection dropped"})
	if c != nil {
		_ = c.Close()
	}
	return true
}

// trackingListener records accepted control connections so Reset can close them from
// another goroutine safely (ftpserverlib's ClientContext.Close is not safe for that).
type trackingListener struct {
	net.Listener
	g *Gateway
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.g.sessions.trackConn(c)
	}
	return c, err
}

// GetSettings implements ftpserver.MainDriver.
func (f *front) GetSettings() (*ftpserver.Settings, error) { return f.settings, nil }

// GetTLSConfig implements ftpserver.MainDriver: one shared configuration for every call.
func (f *front) GetTLSConfig() (*tls.Config, error) { return f.gw.baseTLS, nil }

// ClientConnected implements ftpserver.MainDriver: the session exists before any TLS handshake.
func (f *front) ClientConnected(cc ftpserver.ClientContext) (string, error) {
	g := f.gw
	// ASCII until a TYPE command says otherwise: RFC 959's default, and the library's.
	s := &session{id: g.sessionID(f, cc.ID()), front: f, cc: cc, remote: cc.RemoteAddr().String(), ascii: true}
	if _, err := rand.Read(s.token[:]); err != nil {
		return "", err
	}
	// Debug on: the library then logs each command and reply, which libTap turns into the journal.
	cc.SetDebug(true)
	if msg := g.sessions.add(s, g.cfg.Limits); msg != "" {
		g.metrics.limits.WithLabelValues("sessions").Inc()
		g.journal.Append(Event{Session: s.id, Remote: s.remote, Type: EventConnect, OK: false, Reason: msg})
		return msg, errors.New(msg)
	}
	g.metrics.sessions.Inc()
	g.metrics.active.Inc()
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Type: EventConnect, OK: true, Reason: f.describe()})
	return "ftpsgw TEST simulator of SKAT's FTPS gateway - not the real gateway", nil
}

// ClientDisconnected implements ftpserver.MainDriver.
func (f *front) ClientDisconnected(cc ftpserver.ClientContext) {
	g := f.gw
	if s := g.sessions.remove(g.sessionID(f, cc.ID())); s != nil {
		g.metrics.active.Dec()
		g.journal.Append(Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: EventDisconnect, OK: true})
	}
}

// verifyControlTLS runs inside the control connection's handshake.
func (g *Gateway) verifyControlTLS(s *session, cs tls.ConnectionState) error {
	ev := Event{Session: s.id, Remote: s.remote, Type: EventTLS, TLSVersion: tlsVersionName(cs.Version),
		Cipher: tls.CipherSuiteName(cs.CipherSuite), Resumed: cs.DidResume}
	err := g.trust.verifyClient(cs.PeerCertificates, g.clock.Now())
	if len(cs.PeerCertificates) == 0 && !g.rules.TLS.RequireClientCert {
		err = nil
	}
	s.mu.Lock()
	if len(cs.PeerCertificates) > 0 {
		s.cert = cs.PeerCertificates[0]
		s.identity, s.identityErr = certs.FromCertificate(s.cert)
		ev.Fingerprint = certs.Fingerprint(s.cert)
		ev.Identity = s.identity.String()
	}
	s.tlsOK, s.tlsErr = err == nil, err
	presented := s.presented
	s.mu.Unlock()
	ev.OK = err == nil
	if err != nil {
		ev.Reason = err.Error()
		g.log.Info("TLS handshake refused", "session", s.id, "remote", s.remote, "reason", err)
	} else if presented != "" {
		ev.Reason = "the client accepted the impostor certificate " + presented + " the gateway presented"
	}
	g.journal.Append(ev)
	return err
}

// onLineTooLong is called by libTap when the library ends a session on a command line longer
// than its 4096-byte buffer. The library closes the connection without a reply and offers no
// hook to send one (ftpserverlib v0.32.1, readCommand); the journal says why instead.
func (g *Gateway) onLineTooLong(f *front, libID uint32, size string) {
	s := g.session(f, libID)
	if s == nil {
		return
	}
	reason := "a command line longer than 4096 bytes (read " + size + " bytes without an end of line): the connection is closed without a reply"
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: EventDisconnect, OK: false, Reason: reason})
	g.log.Info("session closed", "session", s.id, "remote", s.remote, "reason", reason)
}

// onStreamError is called by libTap when the library ends a control connection on a read
// error. A TLS error before the handshake verified anything means the handshake itself failed
// (the client refused the gateway's certificate, or spoke no TLS): that is journalled as a
// failed TLS event, and reported true so the library's ERROR line is not logged.
func (g *Gateway) onStreamError(f *front, libID uint32, errText string) bool {
	s := g.session(f, libID)
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
		reason = "the client ended the TLS handshake with the alert \"" + alert + "\": it did not accept the gateway's certificate"
		if presented != "" {
			reason += " (the impostor certificate " + presented + ")"
		}
	}
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Type: EventTLS, OK: false, Reason: reason})
	g.log.Info("TLS handshake failed", "session", s.id, "remote", s.remote, "reason", reason)
	return true
}

// verifyDataTLS runs inside a data connection's handshake.
func (g *Gateway) verifyDataTLS(s *session, cs tls.ConnectionState) error {
	s.mu.Lock()
	ctrlCert, user, foreign := s.cert, s.username, s.foreignTicket
	s.foreignTicket = false
	s.dataTLSVersion = cs.Version // the record watcher can read close_notify only over TLS 1.2
	s.mu.Unlock()
	ev := Event{Session: s.id, Remote: s.remote, Username: user, Type: EventDataTLS, TLSVersion: tlsVersionName(cs.Version),
		Cipher: tls.CipherSuiteName(cs.CipherSuite), Resumed: cs.DidResume}
	var err error
	switch {
	case !g.rules.TLS.RequireClientCert && ctrlCert == nil:
	case !cs.DidResume && g.rules.Data.RequireResumption:
		err = errors.New("data connection did not resume the control connection's TLS session (session_reuse: required)")
		if foreign {
			err = errors.New("data connection presented a TLS session ticket of another control connection")
		}
	case len(cs.PeerCertificates) == 0:
		err = errors.New("data connection presented no client certificate")
	case ctrlCert == nil || !cs.PeerCertificates[0].Equal(ctrlCert):
		err = errors.New("data connection presented another certificate than its control connection")
	case !cs.DidResume:
		err = g.trust.verifyClient(cs.PeerCertificates, g.clock.Now())
	}
	if len(cs.PeerCertificates) > 0 {
		ev.Fingerprint = certs.Fingerprint(cs.PeerCertificates[0])
	}
	ev.OK = err == nil
	if err != nil {
		ev.Reason = err.Error()
		g.log.Info("data connection refused", "session", s.id, "remote", s.remote, "reason", err)
	}
	g.journal.Append(ev)
	return err
}

// WrapPassiveListener implements ftpserver.MainDriverExtensionPassiveWrapper: every data
// connection gets a deadline that moves with each byte, so a transfer that stalls for
// limits.transfer_stall_timeout fails instead of holding its session forever. (Data
// connections are matched to sessions by port; see onReply.)
func (f *front) WrapPassiveListener(l net.Listener) (net.Listener, error) {
	return stallListener{Listener: l, timeout: f.gw.cfg.Limits.TransferStallTimeout.Std(), g: f.gw}, nil
}

// stallListener hands out connections whose reads and writes each get a fresh deadline, and
// whose TLS records are watched (recordWatcher) for the session's upload to check its end.
type stallListener struct {
	net.Listener
	timeout time.Duration
	g       *Gateway
}

func (l stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	w := &recordWatcher{Conn: c}
	local, _ := c.LocalAddr().(*net.TCPAddr)
	if s, data := l.g.sessions.forConn(local, c.RemoteAddr().String()); s != nil && data {
		s.setDataConn(w)
	}
	return &stallConn{Conn: w, timeout: l.timeout}, nil
}

type stallConn struct {
	net.Conn
	timeout time.Duration

	// Small writes are coalesced (see coalesceBelow): a listing is one TLS record per entry, and
	// one write syscall per record was two thirds of LIST /out's CPU at 50,000 entries.
	mu    sync.Mutex
	small []byte
	timer *time.Timer
	werr  error
}

func (c *stallConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *stallConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if len(p) < coalesceBelow && len(c.small)+len(p) <= coalesceMax {
		if c.small == nil {
			c.small = make([]byte, 0, coalesceMax)
		}
		c.small = append(c.small, p...)
		if c.timer == nil {
			c.timer = time.AfterFunc(coalesceDelay, func() { _ = c.flush() })
		}
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	if len(p) < coalesceBelow {
		c.small = append(c.small, p...)
		c.timer = time.AfterFunc(coalesceDelay, func() { _ = c.flush() })
		return len(p), nil
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}

// Close sends what is still coalesced, then closes.
func (c *stallConn) Close() error {
	ferr := c.flush()
	if err := c.Conn.Close(); err != nil {
		return err
	}
	return ferr
}

// Coalescing of small writes on data connections: a write under coalesceBelow bytes waits
// in memory, at most coalesceDelay, until coalesceMax bytes are waiting, a larger write
// comes, the connection is read from (the TLS handshake: nothing waits across a turn of the
// conversation) or closed. Large writes (file data in 16 KiB TLS records) go straight out.
const (
	coalesceBelow = 4 << 10
	coalesceMax   = 64 << 10
	coalesceDelay = 2 * time.Millisecond
)

func (c *stallConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *stallConn) flushLocked() error {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.werr != nil || len(c.small) == 0 {
		return c.werr
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.Conn.Write(c.small)
	c.small = c.small[:0]
	if err != nil {
		c.werr = err
	}
	return err
}

// errTooManySessions refuses a login over limits.max_sessions_per_identity.
var errTooManySessions = errors.New("too many sessions")

// onCommand is called by libTap for every command line received.
func (g *Gateway) onCommand(f *front, libID uint32, line string) {
	s := g.session(f, libID)
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
		g.sessions.setActiveAddr(s, addr)
	}
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: EventCommand, Line: redactCommand(line), OK: true})
}

// onReply is called by libTap for every reply line, before it is sent.
func (g *Gateway) onReply(f *front, libID uint32, line string) {
	s := g.session(f, libID)
	if s == nil {
		return
	}
	code, text := parseReply(line)
	if port := passivePort(code, line); port > 0 {
		g.sessions.setPassivePort(s, port)
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
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: EventReply, Code: code, Line: redactCommand(text), OK: code > 0 && code < 400})
}

// currentRoles returns the roles a username holds now.
func (g *Gateway) currentRoles(username string) []string {
	return g.roles.of(username, !g.rules.Folders.FilterByRoles)
}

// describe names the listener a connection came in on, for the journal.
func (f *front) describe() string {
	if f.name == "i" {
		return "implicit FTPS listener (TLS from the first byte)"
	}
	return "explicit FTPS listener (AUTH TLS)"
}
