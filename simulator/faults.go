package simulator

import (
	"sync"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// faultInjector holds the connection drops armed through the control API (PUT /faults), for
// client certification's reconnect scenarios. It owns its lock.
type faultInjector struct {
	mu sync.Mutex
	f  control.Faults
}

func (fi *faultInjector) get() control.Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

func (fi *faultInjector) set(f control.Faults) {
	fi.mu.Lock()
	fi.f = f
	fi.mu.Unlock()
}

// take consumes one armed drop at login or at STOR and reports whether one was armed.
func (fi *faultInjector) take(atLogin bool) bool {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	n := &fi.f.DropAtStor
	if atLogin {
		n = &fi.f.DropAtLogin
	}
	if *n <= 0 {
		return false
	}
	*n--
	return true
}
