// Package journal is the simulator's in-memory record of every session, which the control
// API serves and the certification suites read as evidence.
package journal

import (
	"encoding/binary"
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
//
// Events are kept encoded, not as Event structs (issue 18: 200,000 structs were 46 MB
// allocated at start and ~80 MB full, all of it pointers for the garbage collector to scan,
// and the heap grows to twice what is live). They are appended to blocks of about blockSize
// bytes: integers as varints, times and sequence numbers as deltas, and the fields that
// repeat through a session (session, address, username, type, TLS, identity) once per block,
// later events naming them by their index in the block. A block holds no pointers; a
// typical event takes 30-60 bytes. Query decodes; sealed blocks never change, so it decodes
// outside the lock.
type Journal struct {
	mu       sync.Mutex
	blocks   []*block // oldest first; the last one is open (appended to), the others sealed
	skip     int      // events at the start of blocks[0] already dropped
	n        int      // events kept
	seq      int64
	dropped  int64
	capacity int
	clock    interface{ Now() time.Time }
	changed  chan struct{} // closed at the next Append or Reset (nil: nobody waits)
	resets   int64
}

// Changed returns a channel closed at the next Append or Reset: a reader waits on it, then
// scans from the last sequence number it saw (no event is pushed to anyone).
func (j *Journal) Changed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.changed == nil {
		j.changed = make(chan struct{})
	}
	return j.changed
}

// Resets counts the journal's resets: a reader that folded its events starts again when it
// changes.
func (j *Journal) Resets() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.resets
}

func (j *Journal) notify() {
	if j.changed != nil {
		close(j.changed)
		j.changed = nil
	}
}

// blockSize is where a block is sealed and a new one begun. Small enough that dropping a
// sealed block (the memory above capacity) is little, large enough that a session's
// repeated fields are written out once per block, not per event.
const blockSize = 32 << 10

type block struct {
	buf      []byte
	count    int
	lastSeq  int64 // the next event's sequence number is written as a delta from it (0 at first)
	lastTime int64 // UnixNano of the last event, likewise (0 at first)

	// the open block's dictionary of repeated fields; nil once sealed (the decoder
	// rebuilds it from the first use of each value, which is written out in full)
	dict map[string]uint32
}

// New makes a journal keeping at most capacity events.
func New(capacity int, clock interface{ Now() time.Time }) *Journal {
	if capacity < 1 {
		capacity = 1
	}
	return &Journal{capacity: capacity, clock: clock}
}

// the fields of an event written through the block's dictionary, in this order
const nDict = 8

func dictFields(e *Event) [nDict]string {
	return [nDict]string{e.Session, e.Remote, e.Username, string(e.Type), e.TLSVersion, e.Cipher, e.Fingerprint, e.Identity}
}

// presence bits of the flags word, after the nDict dictionary fields' bits
const (
	fLine = 1 << (nDict + iota)
	fPath
	fReason
	fCode
	fSize
	fResumed
	fASCII
	fOK
)

// Append stamps the event with a sequence number and time and stores it.
func (j *Journal) Append(e Event) Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.Seq = j.seq
	if e.Time.IsZero() {
		e.Time = j.clock.Now()
	}
	b := j.open()
	b.append(&e)
	j.n++
	for j.n > j.capacity {
		j.dropOldest()
	}
	j.notify()
	return e
}

// open returns the block to append to, sealing a full one.
func (j *Journal) open() *block {
	if len(j.blocks) > 0 {
		b := j.blocks[len(j.blocks)-1]
		if len(b.buf) < blockSize {
			return b
		}
		b.seal()
	}
	b := &block{buf: make([]byte, 0, blockSize+blockSize/8), dict: map[string]uint32{}}
	j.blocks = append(j.blocks, b)
	return b
}

func (j *Journal) dropOldest() {
	j.n--
	j.dropped++
	j.skip++
	if b := j.blocks[0]; j.skip == b.count {
		// Fully dropped. An open block is replaced, not reused: a Query may still be
		// decoding its bytes.
		j.blocks[0] = nil
		j.blocks = j.blocks[1:]
		j.skip = 0
	}
}

func (b *block) seal() {
	b.dict = nil
	if cap(b.buf)-len(b.buf) > blockSize/4 { // an event far larger than the rest grew it
		b.buf = append([]byte(nil), b.buf...)
	}
}

func (b *block) append(e *Event) {
	fields := dictFields(e)
	flags := uint64(0)
	for i, s := range fields {
		if s != "" {
			flags |= 1 << i
		}
	}
	set := func(bit uint64, present bool) {
		if present {
			flags |= bit
		}
	}
	set(fLine, e.Line != "")
	set(fPath, e.Path != "")
	set(fReason, e.Reason != "")
	set(fCode, e.Code != 0)
	set(fSize, e.Size != 0)
	set(fResumed, e.Resumed)
	set(fASCII, e.ASCII)
	set(fOK, e.OK)
	t := e.Time.UnixNano()
	buf := binary.AppendUvarint(b.buf, flags)
	buf = binary.AppendUvarint(buf, uint64(e.Seq-b.lastSeq))
	buf = binary.AppendVarint(buf, t-b.lastTime)
	for _, s := range fields {
		if s == "" {
			continue
		}
		if idx, ok := b.dict[s]; ok {
			buf = binary.AppendUvarint(buf, uint64(idx))
			continue
		}
		idx := uint32(len(b.dict))
		b.dict[s] = idx
		buf = binary.AppendUvarint(buf, uint64(idx)) // a new index: its value follows
		buf = appendString(buf, s)
	}
	for _, s := range [...]string{e.Line, e.Path, e.Reason} {
		if s != "" {
			buf = appendString(buf, s)
		}
	}
	if e.Code != 0 {
		buf = binary.AppendVarint(buf, int64(e.Code))
	}
	if e.Size != 0 {
		buf = binary.AppendVarint(buf, e.Size)
	}
	b.buf = buf
	b.count++
	b.lastSeq, b.lastTime = e.Seq, t
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// Query selects events; empty fields match everything.
type Query struct {
	Username string
	Session  string
	Since    int64 // only events with Seq > Since
	Types    []EventType
}

func (q Query) matchKeys(seq int64, session, username string, typ EventType) bool {
	if seq <= q.Since || (q.Username != "" && username != q.Username) || (q.Session != "" && session != q.Session) {
		return false
	}
	if len(q.Types) == 0 {
		return true
	}
	for _, t := range q.Types {
		if typ == t {
			return true
		}
	}
	return false
}

// a block as a Query sees it: its bytes and count when the query began
type snapshot struct {
	buf   []byte
	count int
	skip  int
}

// Query returns matching events, oldest first.
func (j *Journal) Query(q Query) []Event {
	var out []Event
	j.Scan(q, func(e Event) { out = append(out, e) })
	return out
}

// Scan calls fn with each matching event, oldest first, without collecting them (a full
// journal served as JSON). fn runs outside the journal's lock: it may take its time, and
// what is appended meanwhile is not seen.
func (j *Journal) Scan(q Query, fn func(Event)) {
	j.mu.Lock()
	snaps := make([]snapshot, 0, len(j.blocks))
	for i, b := range j.blocks {
		if b.lastSeq <= q.Since {
			continue
		}
		s := snapshot{buf: b.buf[:len(b.buf):len(b.buf)], count: b.count}
		if i == 0 {
			s.skip = j.skip
		}
		snaps = append(snaps, s)
	}
	j.mu.Unlock()
	for _, s := range snaps {
		s.decode(q, fn)
	}
}

// decode calls fn with the block's matching events.
func (s snapshot) decode(q Query, fn func(Event)) {
	var (
		dict     []string
		seq      int64
		t        int64
		buf      = s.buf
		fields   [nDict]string
		literals [3][]byte
	)
	uvarint := func() uint64 {
		v, n := binary.Uvarint(buf)
		buf = buf[n:]
		return v
	}
	varint := func() int64 {
		v, n := binary.Varint(buf)
		buf = buf[n:]
		return v
	}
	bytesField := func() []byte {
		l := int(uvarint())
		b := buf[:l]
		buf = buf[l:]
		return b
	}
	for i := 0; i < s.count; i++ {
		flags := uvarint()
		seq += int64(uvarint())
		t += varint()
		for k := range fields {
			fields[k] = ""
			if flags&(1<<k) == 0 {
				continue
			}
			idx := int(uvarint())
			if idx == len(dict) {
				dict = append(dict, string(bytesField()))
			}
			fields[k] = dict[idx]
		}
		for k, bit := range [...]uint64{fLine, fPath, fReason} {
			literals[k] = nil
			if flags&bit != 0 {
				literals[k] = bytesField()
			}
		}
		var code, size int64
		if flags&fCode != 0 {
			code = varint()
		}
		if flags&fSize != 0 {
			size = varint()
		}
		if i < s.skip || !q.matchKeys(seq, fields[0], fields[2], EventType(fields[3])) {
			continue
		}
		fn(Event{
			Seq: seq, Time: time.Unix(0, t).UTC(),
			Session: fields[0], Remote: fields[1], Username: fields[2], Type: EventType(fields[3]),
			TLSVersion: fields[4], Cipher: fields[5], Fingerprint: fields[6], Identity: fields[7],
			Line: string(literals[0]), Path: string(literals[1]), Reason: string(literals[2]),
			Code: int(code), Size: size,
			Resumed: flags&fResumed != 0, ASCII: flags&fASCII != 0, OK: flags&fOK != 0,
		})
	}
}

// Reset empties the journal (sequence numbers keep growing).
func (j *Journal) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.blocks, j.skip, j.n = nil, 0, 0
	j.resets++
	j.notify()
}

// Stats returns the last sequence number and how many events were dropped.
func (j *Journal) Stats() (lastSeq, dropped int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq, j.dropped
}
