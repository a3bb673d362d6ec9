package simulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/ftpsgw/ftpsgw/certs"
)

// session is one control connection and everything learned about it.
type session struct {
	// ctx is cancelled when the client disconnects (or the simulator stops): what the
	// session asks of the store stops with it.
	ctx    context.Context
	cancel context.CancelFunc
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
