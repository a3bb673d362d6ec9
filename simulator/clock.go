package simulator

import "time"

// Clock is the one source of time for every rule of the gateway: certificate validity, login
// lock-outs, receipt timestamps and file times. A virtual clock (controlled through the control
// API) can replace the real one so tests cover hours in milliseconds.
type Clock interface {
	Now() time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns the current time in UTC.
func (RealClock) Now() time.Time { return time.Now().UTC() }
