package simulator

import (
	"context"
	"crypto/tls"
	"sync/atomic"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Gateway assembles the simulator's parts over one core: the FTP fronts (one per listener)
// call the parts, the control API calls the Gateway's operations (operations.go), and each
// part owns its state and its lock.
type Gateway struct {
	*core
	dataDir string
	m       *certs.Manifest
	boot    string          // distinguishes session ids across restarts
	life    context.Context // cancelled when the simulator stops; sessions' contexts derive from it
	addrs   Ready           // listener addresses, for /health

	baseTLS *tls.Config // the one TLS configuration of every listener (tlsconf.go)
	// impostors are the PKI's impostor gateway certificates, presented instead of the genuine
	// one while the control API's faults.server_certificate names one (client certification).
	impostors map[string]tls.Certificate
	sessions  *sessionTable // live sessions (own lock)
	drain     drainState    // graceful stop: uploads in flight (own lock)
	faults    *faultInjector
	lease     leaseHolder // the certification run that may change the simulator
	tlsGuard  *tlsGuard   // the TLS rules of control and data connections
	logins    *logins     // login rules and the lock-out limiter
	uploads   *uploads    // name rules, quotas and the spool
	pipeline  *receiptPipeline
	replica   *securityReplica
	api       *controlAPI
	dashboard *dashboard                          // made with the control listener's handler
	finish    func()                              // Options.Finish
	observed  atomic.Pointer[control.Observation] // PUT /observation: a client observation's progress
}

// injectFault consumes one armed fault of a kind and, if one was armed, closes the session's
// control connection (the client sees it dropped).
func (g *Gateway) injectFault(s *session, atLogin bool) bool {
	if !g.faults.take(atLogin) {
		return false
	}
	c := g.sessions.conn(s.remote)
	g.journal.Append(control.Event{Session: s.id, Remote: s.remote, Username: s.user(), Type: control.EventDisconnect, Reason: "fault injected: control connection dropped"})
	if c != nil {
		_ = c.Close()
	}
	return true
}

// trackingListener records accepted control connections so Reset can close them from
