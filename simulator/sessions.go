package simulator

import (
	"fmt"
	"net"
	"sync"
)

// sessionTable is the live control sessions and how to find them: by id, by the control
// connection's remote address, by the passive port a session was given (data connections),
// and the raw control connections (so Reset and fault injection can close them from another
// goroutine: ftpserverlib's ClientContext.Close is not safe for that). It owns its lock.
type sessionTable struct {
	mu            sync.Mutex
	byID          map[string]*session
	byRemote      map[string]*session
	byPassivePort map[int]*session
	byActiveAddr  map[string]*session // PORT/EPRT address -> session (active mode)
	controlPorts  map[int]bool
	rawConns      map[string]net.Conn
}

func newSessionTable() *sessionTable {
	return &sessionTable{byID: map[string]*session{}, byRemote: map[string]*session{}, byPassivePort: map[int]*session{},
		byActiveAddr: map[string]*session{}, controlPorts: map[int]bool{}, rawConns: map[string]net.Conn{}}
}

func (t *sessionTable) get(id string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

// all returns every live session.
func (t *sessionTable) all() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.byID))
	for _, s := range t.byID {
		out = append(out, s)
	}
	return out
}

// addControlPort marks a listener's port: connections to it are control connections.
func (t *sessionTable) addControlPort(port int) {
	t.mu.Lock()
	t.controlPorts[port] = true
	t.mu.Unlock()
}

func (t *sessionTable) trackConn(c net.Conn) {
	t.mu.Lock()
	t.rawConns[c.RemoteAddr().String()] = c
	t.mu.Unlock()
}

func (t *sessionTable) conn(remote string) net.Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rawConns[remote]
}

// conns returns every open control connection.
func (t *sessionTable) conns() []net.Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	open := make([]net.Conn, 0, len(t.rawConns))
	for _, c := range t.rawConns {
		open = append(open, c)
	}
	return open
}

// forConn finds the session a TLS connection belongs to and whether it is a data connection.
func (t *sessionTable) forConn(local *net.TCPAddr, remote string) (*session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if local != nil && !t.controlPorts[local.Port] {
		if s := t.byPassivePort[local.Port]; s != nil {
			return s, true
		}
		return t.byActiveAddr[remote], true
	}
	return t.byRemote[remote], false
}

// add admits a new session unless a limit says no (the reason, "" when admitted).
func (t *sessionTable) add(s *session, l Limits) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if msg := t.limitLocked(s.remote, l); msg != "" {
		return msg
	}
	t.byID[s.id] = s
	t.byRemote[s.remote] = s
	return ""
}

// remove forgets a session and its connections; nil if it was unknown.
func (t *sessionTable) remove(id string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byID[id]
	delete(t.byID, id)
	if s != nil {
		if t.byRemote[s.remote] == s {
			delete(t.byRemote, s.remote)
		}
		delete(t.rawConns, s.remote)
		for _, p := range s.passivePorts {
			if t.byPassivePort[p] == s {
				delete(t.byPassivePort, p)
			}
		}
		for a, o := range t.byActiveAddr {
			if o == s {
				delete(t.byActiveAddr, a)
			}
		}
	}
	return s
}

// setActiveAddr records the address a session asked the gateway to connect to (PORT/EPRT).
func (t *sessionTable) setActiveAddr(s *session, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for a, o := range t.byActiveAddr {
		if o == s {
			delete(t.byActiveAddr, a)
		}
	}
	t.byActiveAddr[addr] = s
}

// setPassivePort records the port a session was just given for its next data connection.
func (t *sessionTable) setPassivePort(s *session, port int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range s.passivePorts {
		if t.byPassivePort[p] == s {
			delete(t.byPassivePort, p)
		}
	}
	s.passivePorts = []int{port}
	t.byPassivePort[port] = s
}

// limitLocked says why a new connection from remote is over a limit ("" if not).
func (t *sessionTable) limitLocked(remote string, l Limits) string {
	if l.MaxSessions > 0 && len(t.byID) >= l.MaxSessions {
		return fmt.Sprintf("too many sessions: the gateway serves %d at once (limits.max_sessions); try again later", l.MaxSessions)
	}
	if l.MaxSessionsPerAddress > 0 {
		host, _, _ := net.SplitHostPort(remote)
		n := 0
		for _, other := range t.byID {
			if h, _, _ := net.SplitHostPort(other.remote); h == host {
				n++
			}
		}
		if n >= l.MaxSessionsPerAddress {
			return fmt.Sprintf("too many sessions from %s: %d at once (limits.max_sessions_per_address); try again later", host, l.MaxSessionsPerAddress)
		}
	}
	return ""
}

// loggedIn counts the sessions logged in as user.
func (t *sessionTable) loggedIn(user string) int {
	t.mu.Lock()
	all := make([]*session, 0, len(t.byID))
	for _, s := range t.byID {
		all = append(all, s)
	}
	t.mu.Unlock()
	n := 0
	for _, s := range all {
		if s.user() == user {
			n++
		}
	}
	return n
}

// another goroutine safely (ftpserverlib's ClientContext.Close is not safe for that).
type trackingListener struct {
	net.Listener
	sessions *sessionTable
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.sessions.trackConn(c)
	}
	return c, err
}
