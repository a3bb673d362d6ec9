package simulator

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// aeadSuites are the only TLS 1.2 cipher suites the gateway offers: ECDHE key exchange with
// AEAD ciphers. No CBC, no static RSA.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// trust is what client certificates are checked against.
type trust struct {
	roots         *x509.CertPool
	intermediates *x509.CertPool
	issuing       *x509.Certificate
	revoked       map[string]bool // serial numbers (hex) in the issuing CA's CRL
}

func loadTrust(m *certs.Manifest) (*trust, error) {
	roots, err := certs.LoadCAPool(m.Path(m.CA.Root))
	if err != nil {
		return nil, err
	}
	inter, err := certs.LoadCAPool(m.Path(m.CA.Issuing))
	if err != nil {
		return nil, err
	}
	issuing, err := certs.ReadCertificateFile(m.Path(m.CA.Issuing), "")
	if err != nil {
		return nil, err
	}
	crl, err := certs.LoadCRL(m.Path(m.CA.CRL))
	if err != nil {
		return nil, fmt.Errorf("reading the CRL: %w", err)
	}
	if err := crl.CheckSignatureFrom(issuing); err != nil {
		return nil, fmt.Errorf("the CRL is not signed by the issuing CA: %w", err)
	}
	t := &trust{roots: roots, intermediates: inter, issuing: issuing, revoked: map[string]bool{}}
	for _, e := range crl.RevokedCertificateEntries {
		t.revoked[e.SerialNumber.Text(16)] = true
	}
	return t, nil
}

// verifyClient checks a client certificate chain at the given time and says in words why it is refused.
func (t *trust) verifyClient(chain []*x509.Certificate, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("no client certificate: the gateway requires an OCES certificate")
	}
	leaf := chain[0]
	inter := t.intermediates.Clone()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: t.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	var inv x509.CertificateInvalidError
	var unk x509.UnknownAuthorityError
	switch {
	case err == nil:
	case errors.As(err, &inv) && inv.Reason == x509.Expired && now.Before(leaf.NotBefore):
		return fmt.Errorf("client certificate is not yet valid (valid from %s)", leaf.NotBefore.UTC().Format(time.RFC3339))
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return fmt.Errorf("client certificate has expired (valid until %s)", leaf.NotAfter.UTC().Format(time.RFC3339))
	case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
		return errors.New("client certificate is not for client authentication (key usage)")
	case errors.As(err, &unk):
		return fmt.Errorf("client certificate is issued by an unknown CA (%s)", leaf.Issuer.CommonName)
	default:
		return fmt.Errorf("client certificate refused: %v", err)
	}
	if bytes.Equal(leaf.RawIssuer, t.issuing.RawSubject) && t.revoked[leaf.SerialNumber.Text(16)] {
		return errors.New("client certificate is revoked (listed in the CRL)")
	}
	return nil
}

// newBaseTLS builds the one shared TLS configuration. Its session-ticket keys are fixed at
// start-up so the per-connection clones made in configForClient can resume each other's sessions.
func (g *Gateway) newBaseTLS(serverCert tls.Certificate) (*tls.Config, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   g.rules.TLS.MaxVersion,
		CipherSuites: aeadSuites,
		Certificates: []tls.Certificate{serverCert},
		// Requested, then checked in VerifyConnection, so every refusal is journalled with its reason.
		ClientAuth: tls.RequestClientCert,
		Time:       g.clock.Now,
	}
	cfg.SetSessionTicketKeys([][32]byte{key})
	cfg.GetConfigForClient = g.configForClient
	return cfg, nil
}

// configForClient gives each connection a configuration bound to its control session: control
// connections are found by remote address, data connections by the passive port the session
// was given. A ticket carries its control session's token, so a data connection can only
// resume the TLS session of its own control connection.
func (g *Gateway) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	local, _ := hello.Conn.LocalAddr().(*net.TCPAddr)
	remote := hello.Conn.RemoteAddr().String()
	s, data := g.sessions.forConn(local, remote)
	if s == nil {
		g.log.Info("TLS connection refused: it belongs to no session", "remote", remote, "local", hello.Conn.LocalAddr(), "data", data)
		return nil, fmt.Errorf("no session for a TLS connection from %s", remote)
	}
	cfg := g.baseTLS.Clone()
	cfg.GetConfigForClient = nil
	if name := g.faults.get().ServerCertificate; name != "" {
		if c, ok := g.impostors[name]; ok {
			cfg.Certificates = []tls.Certificate{c}
			if !data {
				s.setPresented(name)
			}
		}
	}
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, s.token[:])
		return cfg.EncryptTicket(cs, ss)
	}
	if !data {
		// A control connection always performs a full handshake: its certificate is checked anew.
		cfg.UnwrapSession = func([]byte, tls.ConnectionState) (*tls.SessionState, error) { return nil, nil }
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return g.tlsGuard.verifyControlTLS(s, cs) }
		return cfg, nil
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, nil
		}
		for _, e := range ss.Extra {
			if bytes.Equal(e, s.token[:]) {
				return ss, nil
			}
		}
		s.setForeignTicket()
		return nil, nil // a ticket of another control session: full handshake instead
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return g.tlsGuard.verifyDataTLS(s, cs) }
	return cfg, nil
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// tlsGuard judges the TLS of control and data connections: the client certificate, its
// trust, and the resumption of the control session on data connections.
type tlsGuard struct {
	*core
	trust *trust
}

// verifyControlTLS runs inside the control connection's handshake.
func (t *tlsGuard) verifyControlTLS(s *session, cs tls.ConnectionState) error {
	ev := control.Event{Session: s.id, Remote: s.remote, Type: control.EventTLS, TLSVersion: tlsVersionName(cs.Version),
		Cipher: tls.CipherSuiteName(cs.CipherSuite), Resumed: cs.DidResume}
	err := t.trust.verifyClient(cs.PeerCertificates, t.clock.Now())
	if len(cs.PeerCertificates) == 0 && !t.rules.TLS.RequireClientCert {
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
		t.log.Info("TLS handshake refused", "session", s.id, "remote", s.remote, "reason", err)
	} else if presented != "" {
		ev.Reason = "the client accepted the impostor certificate " + presented + " the gateway presented"
	}
	t.journal.Append(ev)
	return err
}

// verifyDataTLS runs inside a data connection's handshake.
func (t *tlsGuard) verifyDataTLS(s *session, cs tls.ConnectionState) error {
	s.mu.Lock()
	ctrlCert, user, foreign := s.cert, s.username, s.foreignTicket
	s.foreignTicket = false
	s.dataTLSVersion = cs.Version // the record watcher can read close_notify only over TLS 1.2
	s.mu.Unlock()
	ev := control.Event{Session: s.id, Remote: s.remote, Username: user, Type: control.EventDataTLS, TLSVersion: tlsVersionName(cs.Version),
		Cipher: tls.CipherSuiteName(cs.CipherSuite), Resumed: cs.DidResume}
	var err error
	switch {
	case !t.rules.TLS.RequireClientCert && ctrlCert == nil:
	case !cs.DidResume && t.rules.Data.RequireResumption:
		err = errors.New("data connection did not resume the control connection's TLS session (session_reuse: required)")
		if foreign {
			err = errors.New("data connection presented a TLS session ticket of another control connection")
		}
	case len(cs.PeerCertificates) == 0:
		err = errors.New("data connection presented no client certificate")
	case ctrlCert == nil || !cs.PeerCertificates[0].Equal(ctrlCert):
		err = errors.New("data connection presented another certificate than its control connection")
	case !cs.DidResume:
		err = t.trust.verifyClient(cs.PeerCertificates, t.clock.Now())
	}
	if len(cs.PeerCertificates) > 0 {
		ev.Fingerprint = certs.Fingerprint(cs.PeerCertificates[0])
	}
	ev.OK = err == nil
	if err != nil {
		ev.Reason = err.Error()
		t.log.Info("data connection refused", "session", s.id, "remote", s.remote, "reason", err)
	}
	t.journal.Append(ev)
	return err
}

// admitsNoCertificate: a connection without a client certificate may log in with its
// password alone (only with the defect no-client-cert).
func (t *tlsGuard) admitsNoCertificate() bool { return !t.rules.TLS.RequireClientCert }
