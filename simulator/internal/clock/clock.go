// Package clock is the one source of time of the simulator: the wall clock or a virtual one.
package clock

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

// Real is the wall clock.
type Real struct{}

// Now returns the current time in UTC.
func (Real) Now() time.Time { return time.Now().UTC() }

// Virtual is a clock that moves only when told to.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtual starts a virtual clock at start (UTC, whole milliseconds).
func NewVirtual(start time.Time) *Virtual {
	return &Virtual{now: start.UTC().Truncate(time.Millisecond)}
}

// Now returns the virtual time.
func (c *Virtual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t; it never goes backwards.
func (c *Virtual) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// Rewind sets the clock to t, backwards included. Only a reset may do this: it wipes every
// state that carries a time.
func (c *Virtual) Rewind(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC().Truncate(time.Millisecond)
}
