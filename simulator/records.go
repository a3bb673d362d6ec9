package simulator

import (
	"net"
	"sync"
)

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
