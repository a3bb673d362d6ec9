package simulator

import (
	"net"
	"sync"
	"time"
)

// WrapPassiveListener implements ftpserver.MainDriverExtensionPassiveWrapper: every data
// connection gets a deadline that moves with each byte, so a transfer that stalls for
// limits.transfer_stall_timeout fails instead of holding its session forever. (Data
// connections are matched to sessions by port; see onReply.)
func (f *front) WrapPassiveListener(l net.Listener) (net.Listener, error) {
	return stallListener{Listener: l, timeout: f.gw.cfg.Limits.TransferStallTimeout.Std(), sessions: f.gw.sessions}, nil
}

// stallListener hands out connections whose reads and writes each get a fresh deadline, and
// whose TLS records are watched (recordWatcher) for the session's upload to check its end.
type stallListener struct {
	net.Listener
	timeout  time.Duration
	sessions *sessionTable
}

func (l stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	w := &recordWatcher{Conn: c}
	local, _ := c.LocalAddr().(*net.TCPAddr)
	if s, data := l.sessions.forConn(local, c.RemoteAddr().String()); s != nil && data {
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

// recordWatcher follows the TLS record layer of a data connection as it arrives. Over TLS 1.2
// the record headers travel in clear, so the gateway can tell whether the stream ended with an
// alert record (close_notify: the client closed the TLS session) or with a bare TCP FIN (a
// truncation, or a client that never closes TLS). Go's crypto/tls reports both as io.EOF at a
// record boundary.
type recordWatcher struct {
	net.Conn

	mu       sync.Mutex
	started  bool // the first byte was seen
	isTLS    bool // the first byte began a TLS handshake record
	header   [5]byte
	headerN  int
	bodyLeft int
	lastType byte // content type of the last record whose header was read
}

const (
	recordHandshake byte = 22
	recordAlert     byte = 21
)

func (w *recordWatcher) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.observe(p[:n])
	}
	return n, err
}

func (w *recordWatcher) observe(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		w.started, w.isTLS = true, b[0] == recordHandshake
	}
	if !w.isTLS {
		return
	}
	for len(b) > 0 {
		if w.bodyLeft > 0 {
			k := min(w.bodyLeft, len(b))
			w.bodyLeft -= k
			b = b[k:]
			continue
		}
		k := copy(w.header[w.headerN:], b)
		w.headerN += k
		b = b[k:]
		if w.headerN == len(w.header) {
			w.lastType = w.header[0]
			w.bodyLeft = int(w.header[3])<<8 | int(w.header[4])
			w.headerN = 0
		}
	}
}

// closedCleanly reports whether the stream so far ends with a whole alert record: for a
// connection whose reads ended at EOF, that the client sent close_notify. tls is false for a
// data connection in clear (PROT C), where there is nothing to tell.
func (w *recordWatcher) closedCleanly() (clean, tls bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.isTLS && w.headerN == 0 && w.bodyLeft == 0 && w.lastType == recordAlert, w.isTLS
}
