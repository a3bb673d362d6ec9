package simulator

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/clock"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// Login: USER (PreAuthUser), the certificate's identity against the username and its
// registration (VerifyConnection), PASS (AuthUser), and the lock-out of guessing clients.

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

// logins judges logins: the username a certificate gives, personal certificates, and the
// lock-out limiter of failed attempts.
type logins struct {
	*core
	limiter *loginLimiter
}

func (l *logins) refuseLogin(s *session, user string, reason error, countFailure bool) error {
	if countFailure {
		l.limiter.fail(s.remote, user)
	}
	l.metrics.logins.WithLabelValues("refused", loginReason(reason)).Inc()
	l.journal.Append(control.Event{Session: s.id, Remote: s.remote, Username: user, Type: control.EventLogin, OK: false, Reason: reason.Error()})
	return reason
}

// PreAuthUser implements ftpserver.MainDriverExtensionUserVerifier: USER must come after AUTH
// TLS, from an address and for an identity that are not locked out, and parse as a username.
func (f *front) PreAuthUser(cc ftpserver.ClientContext, user string) error {
	g := f.gw
	s := f.session(cc.ID())
	if s == nil {
		return errors.New("unknown session")
	}
	user = strings.ToValidUTF8(user, "\uFFFD")
	if !cc.HasTLSForControl() {
		return g.logins.refuseLogin(s, user, errNeedTLS, false)
	}
	if until, locked := g.logins.limiter.locked(s.remote, user); locked {
		return g.logins.refuseLogin(s, user, fmt.Errorf("%w: try again after %s", errLockedOut, until.Format(time.RFC3339)), false)
	}
	if _, err := certs.ParseUsername(user); err != nil && !g.logins.personalUsername(user) {
		return g.logins.refuseLogin(s, user, fmt.Errorf("%w: %v", errBadUsername, err), true)
	}
	return nil
}

// usernameOf is the username a certificate's identity logs in with: the documented form under
// the uid_mapping setting, or for a personal certificate the one personal_usernames gives it
// ("" when none).
func (l *logins) usernameOf(id certs.Identity) string {
	if id.Kind == certs.KindPID {
		return l.cfg.PersonalUsernames[id.ID]
	}
	return id.UsernameWith(l.cfg.UIDMapping)
}

// personalUsername reports whether a username is one that personal_usernames admits.
func (l *logins) personalUsername(user string) bool {
	for _, u := range l.cfg.PersonalUsernames {
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
	s := f.session(cc.ID())
	if s == nil {
		return nil, errors.New("unknown session")
	}
	s.mu.Lock()
	ok, cert, id, idErr := s.tlsOK, s.cert, s.identity, s.identityErr
	s.mu.Unlock()
	if ok && cert == nil && g.tlsGuard.admitsNoCertificate() {
		return nil, nil // straight to the password
	}
	mustMatch := g.rules.Login.UsernameMustMatchCertificate
	switch {
	case !ok || cert == nil:
		return nil, g.logins.refuseLogin(s, user, errTLSNotVerified, true)
	case id.Kind == certs.KindUI && !g.rules.Login.AdmitOCES3:
		return nil, g.logins.refuseLogin(s, user, fmt.Errorf("%w: OCES3 certificates are not supported", errNoIdentity), true)
	case errors.Is(idErr, certs.ErrPersonalCertificate) && g.cfg.PersonalUsernames[id.ID] == "":
		return nil, g.logins.refuseLogin(s, user, errPersonal, true)
	case idErr != nil && !errors.Is(idErr, certs.ErrPersonalCertificate):
		return nil, g.logins.refuseLogin(s, user, fmt.Errorf("%w: %v", errNoIdentity, idErr), true)
	case g.logins.usernameOf(id) != user && mustMatch:
		return nil, g.logins.refuseLogin(s, user, fmt.Errorf("%w: the certificate is %s, whose username is %s", errUserMismatch, id, g.logins.usernameOf(id)), true)
	}
	reg, err := g.store.Registration(s.ctx, user)
	if errors.Is(err, store.ErrNotRegistered) {
		if !g.rules.Login.RequireRegistration {
			return nil, nil
		}
		return nil, g.logins.refuseLogin(s, user, errNotRegistered, true)
	}
	if err != nil {
		return nil, fmt.Errorf("internal error: %w", err)
	}
	if !strings.EqualFold(reg.Fingerprint, certs.Fingerprint(cert)) && mustMatch {
		return nil, g.logins.refuseLogin(s, user, errOtherCert, true)
	}
	return nil, nil
}

// AuthUser implements ftpserver.MainDriver: the PASS step.
func (f *front) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	g := f.gw
	s := f.session(cc.ID())
	if s == nil {
		return nil, errors.New("unknown session")
	}
	s.mu.Lock()
	ok, cert, id := s.tlsOK, s.cert, s.identity
	s.mu.Unlock()
	// VerifyConnection ran for this USER; these guard against a library change skipping it.
	switch {
	case ok && cert == nil && g.tlsGuard.admitsNoCertificate():
		if parsed, err := certs.ParseUsername(user); err == nil {
			id = parsed
		}
	case !ok || cert == nil || (g.logins.usernameOf(id) != user && g.rules.Login.UsernameMustMatchCertificate):
		return nil, g.logins.refuseLogin(s, user, errTLSNotVerified, true)
	}
	if until, locked := g.logins.limiter.locked(s.remote, user); locked {
		return nil, g.logins.refuseLogin(s, user, fmt.Errorf("%w: try again after %s", errLockedOut, until.Format(time.RFC3339)), false)
	}
	if g.injectFault(s, true) {
		return nil, errors.New("connection dropped (fault injected)")
	}
	if max := g.cfg.Limits.MaxSessionsPerIdentity; max > 0 && g.sessions.loggedIn(user) >= max {
		g.metrics.limits.WithLabelValues("sessions_per_identity").Inc()
		return nil, g.logins.refuseLogin(s, user, fmt.Errorf("%w: %s already has %d sessions open (limits.max_sessions_per_identity)", errTooManySessions, user, max), false)
	}
	good, err := g.store.CheckPassword(s.ctx, user, pass)
	if err != nil && !errors.Is(err, store.ErrNotRegistered) {
		return nil, fmt.Errorf("internal error: %w", err)
	}
	unregistered := errors.Is(err, store.ErrNotRegistered)
	if !good && g.rules.Login.CheckPassword && !(unregistered && !g.rules.Login.RequireRegistration) {
		return nil, g.logins.refuseLogin(s, user, errWrongPassword, true)
	}
	g.logins.limiter.succeed(user)
	g.metrics.logins.WithLabelValues("ok", "").Inc()
	s.mu.Lock()
	s.username, s.cvr = user, id.CVR
	s.mu.Unlock()
	fp := ""
	if cert != nil {
		fp = certs.Fingerprint(cert)
	}
	g.journal.Append(control.Event{Session: s.id, Remote: s.remote, Username: user, Type: control.EventLogin, OK: true,
		Fingerprint: fp, Identity: id.String()})
	return &folders{gw: g, s: s, username: user, cvr: id.CVR}, nil
}

// loginLimiter locks out an address or an identity after too many failures in a window.
type loginLimiter struct {
	clock  clock.Clock
	limits LoginLimits
	mu     sync.Mutex
	fails  map[string][]time.Time
	until  map[string]time.Time
}

func newLoginLimiter(clock clock.Clock, l LoginLimits) *loginLimiter {
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
