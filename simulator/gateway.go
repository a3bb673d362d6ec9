package simulator

import (
	"context"
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

	mu            sync.Mutex
	tlsOK         bool
	tlsErr        error
	cert          *x509.Certificate
	identity      certs.Identity
	identityErr   error
	username      string // set once logged in
	cvr           string
	ascii         bool   // TYPE A in effect
	pendingType   string // TYPE argument awaiting its 200
	passivePorts  []int
	foreignTicket bool
	presented     string         // the impostor certificate its control connection was given, if any
	dataConn      *recordWatcher // the passive data connection of the transfer in progress
	uploads       int            // uploads in flight (drainState)
	uploadEnded   time.Time      // when the last one ended
	handshakeLost bool           // a failed control handshake is journalled
	multiCode     int            // the code of the multi-line reply being sent
}

func (s *session) setDataConn(w *recordWatcher) {
	s.mu.Lock()
	s.dataConn = w
	s.mu.Unlock()
}

func (s *session) currentDataConn() *recordWatcher {
	s.mu.Lock()
	defer s.mu.Unlock()
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

// Login errors: each has its own text so clients and suites can tell them apart (documented in README).
var (
	errNeedTLS        = errors.New("AUTH TLS is required before USER")
	errLockedOut      = errors.New("too many failed logins")
	errPersonal       = errors.New("a personal certificate (PID) cannot log in: it has no CVR number")
	errNoIdentity     = errors.New("the client certificate carries no OCES identity")
	errUserMismatch   = errors.New("the username does not belong to the client certificate")
	errNotRegistered  = errors.New("the certificate is not registered for the gateway")
	errOtherCert      = errors.New("this certificate is not the one registered for the username")
	errWrongPassword  = errors.New("wrong password")
	errBadUsername    = errors.New("not a gateway username")
	errTLSNotVerified = errors.New("the TLS handshake did not verify a client certificate")
)

func (g *Gateway) refuseLogin(s *session, user string, reason error, countFailure bool) error {
	if countFailure {
		g.limiter.fail(s.remote, user)
	}
	g.metrics.logins.WithLabelValues("refused", loginReason(reason)).Inc()
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Username: user, Type: EventLogin, OK: false, Reason: reason.Error()})
	return reason
}

// PreAuthUser implements ftpserver.MainDriverExtensionUserVerifier: USER must come after AUTH
// TLS, from an address and for an identity that are not locked out, and parse as a username.
func (f *front) PreAuthUser(cc ftpserver.ClientContext, user string) error {
	g := f.gw
	s := g.session(f, cc.ID())
	if s == nil {
		return errors.New("unknown session")
	}
	user = strings.ToValidUTF8(user, "\uFFFD")
	if !cc.HasTLSForControl() {
		return g.refuseLogin(s, user, errNeedTLS, false)
	}
	if until, locked := g.limiter.locked(s.remote, user); locked {
		return g.refuseLogin(s, user, fmt.Errorf("%w: try again after %s", errLockedOut, until.Format(time.RFC3339)), false)
	}
	if _, err := certs.ParseUsername(user); err != nil && !g.personalUsername(user) {
		return g.refuseLogin(s, user, fmt.Errorf("%w: %v", errBadUsername, err), true)
	}
	return nil
}

// usernameOf is the username a certificate's identity logs in with: the documented form under
// the uid_mapping setting, or for a personal certificate the one personal_usernames gives it
// ("" when none).
func (g *Gateway) usernameOf(id certs.Identity) string {
	if id.Kind == certs.KindPID {
		return g.cfg.PersonalUsernames[id.ID]
	}
	return id.UsernameWith(g.cfg.UIDMapping)
}

// personalUsername reports whether a username is one that personal_usernames admits.
func (g *Gateway) personalUsername(user string) bool {
	for _, u := range g.cfg.PersonalUsernames {
		if u == user {
			return true
		}
	}
	return false
}

// VerifyConnection implements ftpserver.MainDriverExtensionTLSVerifier: the certificate's
// identity must be the username and be registered. Returning (nil, nil) asks for the password,
// so login takes the certificate AND the password.
func (f *front) VerifyConnection(cc ftpserver.ClientContext, user string, _ *tls.Conn) (ftpserver.ClientDriver, error) {
	g := f.gw
	s := g.session(f, cc.ID())
	if s == nil {
		return nil, errors.New("unknown session")
	}
	s.mu.Lock()
	ok, cert, id, idErr := s.tlsOK, s.cert, s.identity, s.identityErr
	s.mu.Unlock()
	if ok && cert == nil && !g.rules.TLS.RequireClientCert {
		return nil, nil // straight to the password
	}
	mustMatch := g.rules.Login.UsernameMustMatchCertificate
	switch {
	case !ok || cert == nil:
		return nil, g.refuseLogin(s, user, errTLSNotVerified, true)
	case id.Kind == certs.KindUI && !g.rules.Login.AdmitOCES3:
		return nil, g.refuseLogin(s, user, fmt.Errorf("%w: OCES3 certificates are not supported", errNoIdentity), true)
	case errors.Is(idErr, certs.ErrPersonalCertificate) && g.cfg.PersonalUsernames[id.ID] == "":
		return nil, g.refuseLogin(s, user, errPersonal, true)
	case idErr != nil && !errors.Is(idErr, certs.ErrPersonalCertificate):
		return nil, g.refuseLogin(s, user, fmt.Errorf("%w: %v", errNoIdentity, idErr), true)
	case g.usernameOf(id) != user && mustMatch:
		return nil, g.refuseLogin(s, user, fmt.Errorf("%w: the certificate is %s, whose username is %s", errUserMismatch, id, g.usernameOf(id)), true)
	}
	reg, err := g.store.Registration(context.Background(), user)
	if errors.Is(err, ErrNotRegistered) {
		if !g.rules.Login.RequireRegistration {
			return nil, nil
		}
		return nil, g.refuseLogin(s, user, errNotRegistered, true)
	}
	if err != nil {
		return nil, fmt.Errorf("internal error: %w", err)
	}
	if !strings.EqualFold(reg.Fingerprint, certs.Fingerprint(cert)) && mustMatch {
		return nil, g.refuseLogin(s, user, errOtherCert, true)
	}
	return nil, nil
}

// AuthUser implements ftpserver.MainDriver: the PASS step.
func (f *front) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	g := f.gw
	s := g.session(f, cc.ID())
	if s == nil {
		return nil, errors.New("unknown session")
	}
	s.mu.Lock()
	ok, cert, id := s.tlsOK, s.cert, s.identity
	s.mu.Unlock()
	// VerifyConnection ran for this USER; these guard against a library change skipping it.
	switch {
	case ok && cert == nil && !g.rules.TLS.RequireClientCert:
		if parsed, err := certs.ParseUsername(user); err == nil {
			id = parsed
		}
	case !ok || cert == nil || (g.usernameOf(id) != user && g.rules.Login.UsernameMustMatchCertificate):
		return nil, g.refuseLogin(s, user, errTLSNotVerified, true)
	}
	if until, locked := g.limiter.locked(s.remote, user); locked {
		return nil, g.refuseLogin(s, user, fmt.Errorf("%w: try again after %s", errLockedOut, until.Format(time.RFC3339)), false)
	}
	if g.injectFault(s, true) {
		return nil, errors.New("connection dropped (fault injected)")
	}
	if max := g.cfg.Limits.MaxSessionsPerIdentity; max > 0 && g.sessions.loggedIn(user) >= max {
		g.metrics.limits.WithLabelValues("sessions_per_identity").Inc()
		return nil, g.refuseLogin(s, user, fmt.Errorf("%w: %s already has %d sessions open (limits.max_sessions_per_identity)", errTooManySessions, user, max), false)
	}
	good, err := g.store.CheckPassword(context.Background(), user, pass)
	if err != nil && !errors.Is(err, ErrNotRegistered) {
		return nil, fmt.Errorf("internal error: %w", err)
	}
	unregistered := errors.Is(err, ErrNotRegistered)
	if !good && g.rules.Login.CheckPassword && !(unregistered && !g.rules.Login.RequireRegistration) {
		return nil, g.refuseLogin(s, user, errWrongPassword, true)
	}
	g.limiter.succeed(user)
	g.metrics.logins.WithLabelValues("ok", "").Inc()
	s.mu.Lock()
	s.username, s.cvr = user, id.CVR
	s.mu.Unlock()
	fp := ""
	if cert != nil {
		fp = certs.Fingerprint(cert)
	}
	g.journal.Append(Event{Session: s.id, Remote: s.remote, Username: user, Type: EventLogin, OK: true,
		Fingerprint: fp, Identity: id.String()})
	return &folders{gw: g, s: s, username: user, cvr: id.CVR}, nil
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
}

func (c *stallConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *stallConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
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

// loginLimiter locks out an address or an identity after too many failures in a window.
type loginLimiter struct {
	clock  Clock
	limits LoginLimits
	mu     sync.Mutex
	fails  map[string][]time.Time
	until  map[string]time.Time
}

func newLoginLimiter(clock Clock, l LoginLimits) *loginLimiter {
	return &loginLimiter{clock: clock, limits: l, fails: map[string][]time.Time{}, until: map[string]time.Time{}}
}

func addrKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return "addr:" + host
}

func (l *loginLimiter) locked(remote, user string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	for _, k := range []string{addrKey(remote), "user:" + user} {
		if u, ok := l.until[k]; ok {
			if now.Before(u) {
				return u, true
			}
			delete(l.until, k)
		}
	}
	return time.Time{}, false
}

// maxTracked bounds the failure records kept before stale ones are pruned, so spraying
// distinct usernames cannot grow memory without bound.
const maxTracked = 10_000

func (l *loginLimiter) fail(remote, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if len(l.fails)+len(l.until) > maxTracked {
		l.prune(now)
	}
	keys := []string{addrKey(remote)}
	if user != "" {
		keys = append(keys, "user:"+user)
	}
	for _, k := range keys {
		recent := l.fails[k][:0]
		for _, t := range l.fails[k] {
			if now.Sub(t) < l.limits.Window.Std() {
				recent = append(recent, t)
			}
		}
		recent = append(recent, now)
		l.fails[k] = recent
		if len(recent) >= l.limits.MaxFailures {
			l.until[k] = now.Add(l.limits.Lockout.Std())
			delete(l.fails, k)
		}
	}
}

// prune drops failure records outside the window and lock-outs that have ended.
func (l *loginLimiter) prune(now time.Time) {
	for k, ts := range l.fails {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= l.limits.Window.Std() {
			delete(l.fails, k)
		}
	}
	for k, u := range l.until {
		if !now.Before(u) {
			delete(l.until, k)
		}
	}
}

func (l *loginLimiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails = map[string][]time.Time{}
	l.until = map[string]time.Time{}
}

func (l *loginLimiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "user:"+user)
}

// describe names the listener a connection came in on, for the journal.
func (f *front) describe() string {
	if f.name == "i" {
		return "implicit FTPS listener (TLS from the first byte)"
	}
	return "explicit FTPS listener (AUTH TLS)"
}
