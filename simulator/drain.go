package simulator

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Graceful stop. Drain stops the listeners (no new sessions), refuses new uploads, closes each
// session that has no upload in flight, and waits for the uploads in flight to end (each is
// then filed, or refused, as usual) or for the drain time; Close then closes what is left.
// Receipts still in the pipeline stay in the store for the next start, as after any stop.

// errShuttingDown refuses an upload that starts while the gateway drains.
var errShuttingDown = errors.New("the gateway is shutting down: no new uploads; nothing was stored and the name is still free; connect again when it is back")

// drainSettle is how long a session stays open after its upload ended, so the upload's final
// reply reaches the client before its control connection is closed.
const drainSettle = 300 * time.Millisecond

// drainState counts the uploads in flight; each session keeps its own count and when its last
// upload ended (session.uploads, session.uploadEnded).
type drainState struct {
	active   atomic.Bool
	inflight atomic.Int64
}

func (d *drainState) begin(s *session) {
	d.inflight.Add(1)
	s.mu.Lock()
	s.uploads++
	s.mu.Unlock()
}

func (d *drainState) end(s *session) {
	d.inflight.Add(-1)
	s.mu.Lock()
	s.uploads--
	s.uploadEnded = time.Now()
	s.mu.Unlock()
}

func (d *drainState) inFlight() int { return int(d.inflight.Load()) }

// closable reports whether a session may be closed now: no upload in flight, and its last
// upload's reply has had drainSettle to go out.
func closable(s *session, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploads == 0 && now.Sub(s.uploadEnded) >= drainSettle
}

// Drain stops the simulator gracefully: see drainState. It returns the number of uploads still
// in flight when it gave up (0: every one ended); ctx cancelled (a second signal) or timeout
// ends the wait. Call Close afterwards.
func (s *Server) Drain(ctx context.Context, timeout time.Duration) int {
	g := s.gw
	if g == nil {
		return 0
	}
	g.drain.active.Store(true)
	s.stopListeners()
	g.log.Info("stopping: no new sessions or uploads; waiting for the uploads in flight", "uploads", g.drain.inFlight(), "drain_timeout", timeout)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		busy := 0
		for _, sess := range g.sessions.all() {
			if !closable(sess, now) {
				busy++
			} else if c := g.sessions.conn(sess.remote); c != nil {
				_ = c.Close()
			}
		}
		if busy == 0 && g.drain.inFlight() == 0 {
			g.log.Info("stopped: every upload in flight ended")
			return 0
		}
		select {
		case <-ctx.Done():
		case <-deadline.C:
		case <-tick.C:
			continue
		}
		n := g.drain.inFlight()
		g.log.Warn("stopping now: uploads still in flight are cut (nothing of them is kept; their names stay free)", "uploads", n)
		return n
	}
}
