// Package journal is the simulator's in-memory record of every session, which the control
// API serves and the certification suites read as evidence.
package journal

import (
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Event and EventType are the control API's wire types: the journal is what the API serves.
type (
	Event     = control.Event
	EventType = control.EventType
)

// Journal is an in-memory, bounded record of every session: what the conformance and
// client-certification suites read as evidence. The oldest events are dropped past Capacity;
// Dropped counts them.
type Journal struct {
	mu       sync.Mutex
	events   []Event
	start    int // index of the oldest event in the ring
	n        int
	seq      int64
	dropped  int64
	capacity int
	clock    interface{ Now() time.Time }
}

// New makes a journal keeping at most capacity events.
func New(capacity int, clock interface{ Now() time.Time }) *Journal {
	if capacity < 1 {
		capacity = 1
	}
	return &Journal{events: make([]Event, capacity), capacity: capacity, clock: clock}
}

// Append stamps the event with a sequence number and time and stores it.
func (j *Journal) Append(e Event) Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.Seq = j.seq
	if e.Time.IsZero() {
		e.Time = j.clock.Now()
	}
	idx := (j.start + j.n) % j.capacity
	if j.n == j.capacity {
		j.start = (j.start + 1) % j.capacity
		j.dropped++
	} else {
		j.n++
	}
	j.events[idx] = e
	return e
}

// Query selects events; empty fields match everything.
type Query struct {
	Username string
	Session  string
	Since    int64 // only events with Seq > Since
	Types    []EventType
}

func (q Query) match(e Event) bool {
	if e.Seq <= q.Since || (q.Username != "" && e.Username != q.Username) || (q.Session != "" && e.Session != q.Session) {
		return false
	}
	if len(q.Types) == 0 {
		return true
	}
	for _, t := range q.Types {
		if e.Type == t {
			return true
		}
	}
	return false
}

// Query returns matching events, oldest first.
func (j *Journal) Query(q Query) []Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Event
	for i := 0; i < j.n; i++ {
		e := j.events[(j.start+i)%j.capacity]
		if q.match(e) {
			out = append(out, e)
		}
	}
	return out
}

// Reset empties the journal (sequence numbers keep growing).
func (j *Journal) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.start, j.n = 0, 0
}

// Stats returns the last sequence number and how many events were dropped.
func (j *Journal) Stats() (lastSeq, dropped int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq, j.dropped
}
