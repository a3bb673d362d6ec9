package journal

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

type fixed struct{}

func (fixed) Now() time.Time { return time.Unix(0, 0).UTC() }

func TestBoundedAndFiltered(t *testing.T) {
	j := New(3, fixed{})
	for i, u := range []string{"a", "b", "a", "b", "a"} {
		j.Append(control.Event{Username: u, Session: "s", Type: control.EventCommand, Line: string(rune('0' + i))})
	}
	last, dropped := j.Stats()
	if last != 5 || dropped != 2 {
		t.Fatalf("stats: last %d dropped %d", last, dropped)
	}
	all := j.Query(Query{})
	if len(all) != 3 || all[0].Line != "2" || all[2].Line != "4" {
		t.Fatalf("kept %+v", all)
	}
	if got := j.Query(Query{Username: "a"}); len(got) != 2 {
		t.Errorf("username filter: %+v", got)
	}
	if got := j.Query(Query{Since: 4}); len(got) != 1 || got[0].Line != "4" {
		t.Errorf("since filter: %+v", got)
	}
	j.Reset()
	if got := j.Query(Query{}); len(got) != 0 {
		t.Errorf("after reset: %+v", got)
	}
}

// ring is the journal as it was before events were kept encoded: the reference the compact
// form must agree with.
type ring struct {
	events   []Event
	seq      int64
	dropped  int64
	capacity int
}

func (r *ring) append(e Event, now time.Time) Event {
	r.seq++
	e.Seq = r.seq
	if e.Time.IsZero() {
		e.Time = now
	}
	r.events = append(r.events, e)
	if len(r.events) > r.capacity {
		r.events = r.events[1:]
		r.dropped++
	}
	return e
}

func (r *ring) query(q Query) []Event {
	var out []Event
	for _, e := range r.events {
		if q.matchKeys(e.Seq, e.Session, e.Username, e.Type) {
			out = append(out, e)
		}
	}
	return out
}

type ticking struct{ t time.Time }

func (c *ticking) Now() time.Time { return c.t }

func randomEvent(rng *rand.Rand) Event {
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	long := strings.Repeat("x", blockSize+rng.IntN(100)) // larger than a block
	e := Event{
		Session:     pick("", "s1", "s2", "s3", fmt.Sprint("s", rng.IntN(500))),
		Remote:      pick("", "127.0.0.1:5000", "[::1]:6000"),
		Username:    pick("", "a", "b", "CVR_19552101_RID_60134540", "æøå"),
		Type:        control.EventType(pick("command", "reply", "login", "upload", "tls", "data-tls", "receipt", "")),
		Line:        pick("", "QUIT", "STOR ping_1.txt", "PASS ****", "226 Transfer complete", long, "\x00\xff binary"),
		Code:        []int{0, 226, 530, -1, 1 << 40}[rng.IntN(5)],
		TLSVersion:  pick("", "TLS 1.2"),
		Cipher:      pick("", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
		Resumed:     rng.IntN(2) == 0,
		Fingerprint: pick("", "ab12cd"),
		Identity:    pick("", "CVR:19552101-RID:60134540"),
		Path:        pick("", "/out/x", "/FTPSGW.Heartbeat/ping_1.txt"),
		Size:        []int64{0, 1, -5, 1 << 50}[rng.IntN(4)],
		ASCII:       rng.IntN(2) == 0,
		OK:          rng.IntN(2) == 0,
		Reason:      pick("", "fault injected", "the name is taken"),
	}
	if rng.IntN(10) == 0 { // a caller's own time, earlier than the clock's
		e.Time = time.Unix(0, rng.Int64N(1<<62)).UTC()
	}
	return e
}

// The compact journal returns exactly what the plain ring of Events did, through random
// appends (fields empty or not, lines longer than a block), capacities from 1 to several
// blocks, every kind of query, and resets.
func TestCompactMatchesReference(t *testing.T) {
	for _, capacity := range []int{1, 2, 7, 100, 3000, 20000} {
		t.Run(fmt.Sprint("capacity=", capacity), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(capacity), 7))
			clock := &ticking{t: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)}
			j, ref := New(capacity, clock), &ring{capacity: capacity}
			for i := 0; i < 20000; i++ {
				clock.t = clock.t.Add(time.Duration(rng.IntN(5000)) * time.Microsecond)
				e := randomEvent(rng)
				got, want := j.Append(e), ref.append(e, clock.t)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("Append returned %+v, want %+v", got, want)
				}
				if rng.IntN(5000) == 0 {
					j.Reset()
					ref.events = nil
				}
				if rng.IntN(1000) != 0 && i != 19999 {
					continue
				}
				queries := []Query{{}, {Username: "a"}, {Session: "s2"}, {Since: ref.seq - int64(rng.IntN(capacity+5))},
					{Types: []EventType{"reply", "login"}}, {Username: "CVR_19552101_RID_60134540", Session: "s1", Since: ref.seq / 2, Types: []EventType{"command"}}}
				for _, q := range queries {
					got, want := j.Query(q), ref.query(q)
					if len(got) != len(want) {
						t.Fatalf("after %d appends, Query(%+v): %d events, want %d", i+1, q, len(got), len(want))
					}
					for k := range got {
						if !reflect.DeepEqual(got[k], want[k]) {
							t.Fatalf("after %d appends, Query(%+v)[%d] = %+v, want %+v", i+1, q, k, got[k], want[k])
						}
					}
				}
				last, dropped := j.Stats()
				if last != ref.seq || dropped != ref.dropped {
					t.Fatalf("Stats = %d, %d; want %d, %d", last, dropped, ref.seq, ref.dropped)
				}
			}
		})
	}
}

// Queries run while sessions append: each sees a gap-free run of sequence numbers, oldest
// first (go test -race checks the decoding outside the lock).
func TestQueryWhileAppending(t *testing.T) {
	j := New(5000, &ticking{t: time.Unix(1, 0).UTC()})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				j.Append(control.Event{Session: fmt.Sprint("s", w), Type: control.EventCommand, Line: "NOOP"})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for queries := 0; ; queries++ {
		evs := j.Query(Query{})
		for k := 1; k < len(evs); k++ {
			if evs[k].Seq != evs[k-1].Seq+1 || evs[k].Line != "NOOP" {
				t.Fatalf("query %d: event %d has seq %d after %d (%+v)", queries, k, evs[k].Seq, evs[k-1].Seq, evs[k])
			}
		}
		if len(evs) > 5000 {
			t.Fatalf("query %d: %d events kept, capacity 5000", queries, len(evs))
		}
		select {
		case <-done:
			if evs := j.Query(Query{}); len(evs) != 5000 || evs[4999].Seq != 80000 {
				t.Fatalf("at the end: %d events, last %+v", len(evs), evs[len(evs)-1])
			}
			return
		default:
		}
	}
}

// A full journal of the default capacity, with the events a session writes, takes a
// fraction of what 200,000 Event structs did (46 MB empty, about 80 MB full).
func TestCompactAtCapacity(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	j := New(200_000, &ticking{t: time.Now().UTC()})
	for s := 0; j.seq < 400_000; s++ {
		id, remote := fmt.Sprintf("%016x", s*7919), fmt.Sprintf("127.0.0.1:%d", 30000+s%30000)
		user := "CVR_19552101_RID_60134540"
		for _, e := range []Event{
			{Type: control.EventConnect, OK: true},
			{Type: control.EventTLS, OK: true, TLSVersion: "TLS 1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Fingerprint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			{Type: control.EventCommand, Line: "USER " + user}, {Type: control.EventReply, Code: 331, Line: "331 Password please"},
			{Type: control.EventCommand, Line: "PASS ****"}, {Type: control.EventLogin, OK: true, Username: user, Identity: "CVR:19552101-RID:60134540"},
			{Type: control.EventCommand, Line: "PASV", Username: user}, {Type: control.EventReply, Code: 227, Line: "227 Entering Passive Mode (127,0,0,1,140,203)", Username: user},
			{Type: control.EventCommand, Line: fmt.Sprintf("STOR /FTPSGW.Heartbeat/ping_%d.txt", s), Username: user},
			{Type: control.EventUpload, Path: fmt.Sprintf("/FTPSGW.Heartbeat/ping_%d.txt", s), Size: 64, OK: true, Username: user},
			{Type: control.EventReply, Code: 226, Line: "226 Closing transfer connection", Username: user},
			{Type: control.EventDisconnect, OK: true, Username: user},
		} {
			e.Session, e.Remote = id, remote
			j.Append(e)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("200,000 events kept: %.1f MiB, %.0f bytes per event", float64(used)/(1<<20), float64(used)/200_000)
	if used > 20<<20 {
		t.Errorf("a full journal takes %.1f MiB; the compact form should stay under 20 MiB", float64(used)/(1<<20))
	}
	if got := j.Query(Query{Since: j.seq - 1}); len(got) != 1 || got[0].Type != control.EventDisconnect {
		t.Fatalf("last event: %+v", got)
	}
	runtime.KeepAlive(j)
}

// What GET /journal costs on a full journal: one session's events (every block decoded) and
// the newest 100 (the blocks before them skipped).
func BenchmarkQueryFull(b *testing.B) {
	j := New(200_000, &ticking{t: time.Now().UTC()})
	for i := 0; i < 200_000; i++ {
		s := fmt.Sprint("s", i/12)
		j.Append(Event{Session: s, Remote: "127.0.0.1:40000", Username: "CVR_19552101_RID_60134540", Type: control.EventCommand, Line: "STOR ping.txt"})
	}
	b.Run("session", func(b *testing.B) {
		for b.Loop() {
			if got := j.Query(Query{Session: "s100"}); len(got) != 12 {
				b.Fatal(len(got))
			}
		}
	})
	b.Run("newest-100", func(b *testing.B) {
		for b.Loop() {
			if got := j.Query(Query{Since: j.seq - 100}); len(got) != 100 {
				b.Fatal(len(got))
			}
		}
	})
}
