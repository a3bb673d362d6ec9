package simulator

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// maxLeaseTTL bounds one lease: a run that dies without releasing it frees the simulator
// within this time.
const maxLeaseTTL = time.Hour

// leaseHolder is who may change the simulator now: a certification run takes the lease so a
// second run against the same simulator cannot reset it under the first (each would see the
// other's resets as failures). It runs on the wall clock: a lease is about processes, not the
// gateway's virtual time. It owns its lock.
type leaseHolder struct {
	mu      sync.Mutex
	holder  string
	since   time.Time
	expires time.Time
}

// current is the lease in force, nil when none is.
func (l *leaseHolder) current(now time.Time) *control.Lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == "" || !now.Before(l.expires) {
		return nil
	}
	return &control.Lease{Holder: l.holder, Since: l.since, Expires: l.expires}
}

// acquire takes or renews the lease; busy names the current holder when another has it.
func (l *leaseHolder) acquire(holder string, ttl time.Duration, now time.Time) (control.Lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder != "" && l.holder != holder && now.Before(l.expires) {
		return control.Lease{}, &apiError{http.StatusConflict, fmt.Sprintf("target busy: certification %s since %s (lease until %s)",
			l.holder, l.since.Format(time.RFC3339), l.expires.Format(time.RFC3339))}
	}
	if l.holder != holder || !now.Before(l.expires) {
		l.holder, l.since = holder, now
	}
	l.expires = now.Add(ttl)
	return control.Lease{Holder: l.holder, TTL: ttl.String(), Since: l.since, Expires: l.expires}, nil
}

func (l *leaseHolder) release(holder string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == holder {
		l.holder = ""
	}
}

// busyFor says why a request from holder may not change the simulator ("" when it may).
func (l *leaseHolder) busyFor(holder string, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == "" || l.holder == holder || !now.Before(l.expires) {
		return ""
	}
	return fmt.Sprintf("target busy: certification %s since %s holds the lease (%s)", l.holder, l.since.Format(time.RFC3339), control.LeaseHeader)
}
