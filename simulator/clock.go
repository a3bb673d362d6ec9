package simulator

import (
	"sync"
	"time"
)

// Clock is the one source of time for every rule of the gateway: certificate validity, login
// lock-outs, receipt timestamps and file times, delivery delays and retries, replication and
// retention. With a virtual clock, time moves only when the control API advances it, and the
// gateway runs everything that falls due, in order, before the advance returns.
type Clock interface {
	Now() time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns the current time in UTC.
func (RealClock) Now() time.Time { return time.Now().UTC() }

// VirtualClock is a clock that moves only when told to.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock starts a virtual clock at start (UTC, whole milliseconds).
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start.UTC().Truncate(time.Millisecond)}
}

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// set moves the clock to t; it never goes backwards.
func (c *VirtualClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// rewind sets the clock to t, backwards included. Only a reset may do this: it wipes every
// state that carries a time.
func (c *VirtualClock) rewind(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC().Truncate(time.Millisecond)
}
