// Package load drives load against any FTPS gateway described by a target profile (the
// simulator, the real thing's stand-ins, vsftpd): many sessions, large uploads, idle
// sessions, or uploads with receipt polling, and measures what it sees. Every error is
// counted by kind and reported; nothing is retried silently.
package load

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// Scenarios.
const (
	Sessions = "sessions" // TLS handshake + login + one small STOR + QUIT per session
	Upload   = "upload"   // large files over persistent sessions, one per worker
	Idle     = "idle"     // N authenticated sessions held open
	Mixed    = "mixed"    // uploads plus receipt polling (LIST /out, RETR a receipt)
	List     = "list"     // LIST of one folder (default /out) per operation, over persistent sessions
)

// Scenarios lists the scenarios.
var Scenarios = []string{Sessions, Upload, Idle, Mixed, List}

// Options of a run. A run stops at Duration or after Count operations, whichever is first.
type Options struct {
	Profile     *target.Profile
	Identity    string // profile identity; default "moces"
	Folder      string // upload folder; default the identity's first folder
	Scenario    string
	Concurrency int
	Duration    time.Duration
	Count       int   // operations in all (0: until Duration)
	Size        int64 // bytes per upload (sessions: default 64; upload: default 256 MiB)
	// Server, when set, is sampled for CPU and memory while the run lasts.
	Server *Process
	// Progress receives a progress line every second (nil: none).
	Progress io.Writer
	// Dir is the folder the list scenario lists (default /out); MinEntries, when set, makes a
	// listing with fewer entries an error (a benchmark of an empty folder is no benchmark).
	Dir        string
	MinEntries int
	// ReceiptLag, after a sessions or upload run, waits (at most 2 minutes) until the target's
	// receipt counter shows a status 1 for every upload and reports how far behind it was.
	ReceiptLag bool
}

// Result is what a run measured.
type Result struct {
	Scenario    string
	Target      string
	Concurrency int
	Size        int64
	Elapsed     time.Duration
	Ops         int   // operations completed without error
	Bytes       int64 // payload bytes uploaded successfully
	Errors      map[string]int
	Latencies   []time.Duration // one per successful operation
	HeldPeak    int             // idle: sessions held open at once
	Server      *Usage          // nil when not measured
	Receipts    *ReceiptLag     // with Options.ReceiptLag
	Entries     int             // list: entries in the last listing
}

// Rate is successful operations per second.
func (r *Result) Rate() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// MBps is payload megabytes (10^6) per second.
func (r *Result) MBps() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// ErrorCount is the number of failed operations.
func (r *Result) ErrorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Percentile returns the p-th percentile (0-100) of the latencies.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

type recorder struct {
	mu      sync.Mutex
	lat     []time.Duration
	errs    map[string]int
	ops     atomic.Int64
	bytes   atomic.Int64
	failed  atomic.Int64
	started atomic.Int64
	held    atomic.Int64
	peak    atomic.Int64
	entries atomic.Int64
}

func (r *recorder) ok(d time.Duration, n int64) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
	r.ops.Add(1)
	r.bytes.Add(n)
}

func (r *recorder) fail(stage string, err error) {
	kind := stage + ": " + errorKind(err)
	r.mu.Lock()
	r.errs[kind]++
	r.mu.Unlock()
	r.failed.Add(1)
}

// errorKind classifies an error for the report: the FTP reply code or the network failure.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	msg := err.Error()
	if len(msg) >= 3 && msg[0] >= '1' && msg[0] <= '5' && msg[1] >= '0' && msg[1] <= '9' {
		return "reply " + msg[:3]
	}
	for _, k := range []string{"connection refused", "connection reset", "broken pipe", "tls:", "x509:"} {
		if strings.Contains(msg, k) {
			return strings.TrimSuffix(k, ":")
		}
	}
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}

// take reserves the next operation; false when Count is reached or ctx is done.
func (r *recorder) take(ctx context.Context, count int) (int64, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	n := r.started.Add(1)
	if count > 0 && n > int64(count) {
		return 0, false
	}
	return n, true
}

// Run runs one scenario against the profile's target.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Profile == nil {
		return nil, errors.New("a target profile is required")
	}
	if !slices.Contains(Scenarios, o.Scenario) {
		return nil, fmt.Errorf("scenario %q: one of %s", o.Scenario, strings.Join(Scenarios, ", "))
	}
	if o.Concurrency < 1 || o.Concurrency > 5000 {
		return nil, fmt.Errorf("concurrency %d: 1 to 5000", o.Concurrency)
	}
	if o.Duration <= 0 || o.Duration > 24*time.Hour {
		return nil, fmt.Errorf("duration %s: more than 0, at most 24h (every run is bounded in time)", o.Duration)
	}
	if o.Count < 0 || o.Size < 0 || o.Size > 64<<30 {
		return nil, errors.New("count must be >= 0 and size 0 to 64 GiB")
	}
	if o.Identity == "" {
		o.Identity = "moces"
	}
	base, id, ok := o.Profile.ClientOptions(o.Identity)
	if !ok || base.Certificate == nil {
		return nil, fmt.Errorf("the target profile has no identity %q", o.Identity)
	}
	if err := loopbackOrProfile(base.Addr); err != nil {
		return nil, err
	}
	if o.Folder == "" {
		if len(id.Folders) == 0 {
			return nil, fmt.Errorf("identity %q has no folders in the profile; give --folder", o.Identity)
		}
		o.Folder = id.Folders[0]
	}
	if o.Size == 0 {
		o.Size = map[string]int64{Sessions: 64, Upload: 256 << 20, Idle: 0, Mixed: 4 << 10}[o.Scenario]
	}
	// Connections live as long as the run (plus a margin for the last operation).
	base.Timeout = o.Duration + 2*time.Minute
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var counter *receiptCounter
	var before int64
	if o.ReceiptLag {
		if o.Scenario != Sessions && o.Scenario != Upload {
			return nil, fmt.Errorf("--receipt-lag goes with the sessions or upload scenario")
		}
		var err error
		if counter, err = newReceiptCounter(o.Profile); err != nil {
			return nil, err
		}
		if before, err = counter.status1(ctx); err != nil {
			return nil, fmt.Errorf("reading the receipt counter: %w", err)
		}
	}
	rec := &recorder{errs: map[string]int{}}
	runID := randomID()
	var sampler *sampler
	if o.Server != nil {
		sampler = o.Server.sample()
	}
	stopProgress := progress(o.Progress, o.Scenario, rec, time.Now())
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := worker{o: o, base: base, id: id, rec: rec, name: fmt.Sprintf("load_%s_w%04d", runID, w)}
			switch o.Scenario {
			case Sessions:
				wk.sessions(ctx, runCtx)
			case Upload, Mixed:
				wk.uploads(ctx, runCtx)
			case Idle:
				wk.idle(runCtx)
			case List:
				wk.lists(ctx, runCtx)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	res := &Result{Scenario: o.Scenario, Target: o.Profile.Name + " (" + base.Addr + ")", Concurrency: o.Concurrency, Size: o.Size,
		Elapsed: elapsed, Ops: int(rec.ops.Load()), Bytes: rec.bytes.Load(), Errors: rec.errs, Latencies: rec.lat, HeldPeak: int(rec.peak.Load()), Entries: int(rec.entries.Load())}
	if counter != nil {
		lag, err := counter.waitForStatus1(ctx, before, res.Ops, start.Add(elapsed), 2*time.Minute)
		if err != nil {
			return nil, fmt.Errorf("reading the receipt counter: %w", err)
		}
		res.Receipts = &lag
	}
	if sampler != nil {
		u := sampler.stop()
		res.Server = &u
	}
	return res, nil
}

type worker struct {
	o    Options
	base ftpsclient.Options
	id   target.ProfileIdentity
	rec  *recorder
	name string
}

func (w *worker) login(ctx context.Context) (*ftpsclient.Client, error) {
	c, err := ftpsclient.Dial(ctx, w.base)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if err := c.Login(w.id.Username, w.id.Password); err != nil {
		c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	return c, nil
}

func stageOf(err error) (string, error) {
	msg := err.Error()
	for _, s := range []string{"dial", "login"} {
		if strings.HasPrefix(msg, s+": ") {
			return s, errors.Unwrap(err)
		}
	}
	return "other", err
}

// sessions: a full session per operation. An operation that has started finishes after the
// run's time is up (it runs on parent, not ctx), so the end of a run is not an error.
func (w *worker) sessions(parent, ctx context.Context) {
	payload := payloadOf(w.o.Size)
	for {
		n, ok := w.rec.take(ctx, w.o.Count)
		if !ok {
			return
		}
		t0 := time.Now()
		c, err := w.login(parent)
		if err != nil {
			w.rec.fail(stageOf(err))
			if sleepCtx(ctx, 10*time.Millisecond) { // a refusing server is not hammered in a tight loop
				return
			}
			continue
		}
		err = c.Stor(fmt.Sprintf("/%s/%s_%06d.txt", w.o.Folder, w.name, n), payload.reader())
		if err != nil {
			c.Close()
			w.rec.fail("stor", err)
			continue
		}
		if err := c.Close(); err != nil {
			w.rec.fail("quit", err)
			continue
		}
		w.rec.ok(time.Since(t0), w.o.Size)
	}
}

// opFailure is how an operation of a persistent session failed: at which stage, and
// whether the session is still usable (else it is closed and the next operation logs in).
type opFailure struct {
	stage string
	err   error
	keep  bool
}

// persistent runs one operation per take on one session per worker, logged in when the first
// operation needs it and again after an operation that lost it (a refusing server is
// retried every 100 ms, not hammered). An operation that has started finishes even when the
// run's time is up (parent ctx). op returns the bytes it moved.
func (w *worker) persistent(parent, ctx context.Context, op func(c *ftpsclient.Client, n int64) (int64, *opFailure)) {
	var c *ftpsclient.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for {
		n, ok := w.rec.take(ctx, w.o.Count)
		if !ok {
			return
		}
		if c == nil {
			var err error
			if c, err = w.login(parent); err != nil {
				w.rec.fail(stageOf(err))
				c = nil
				if sleepCtx(ctx, 100*time.Millisecond) {
					return
				}
				continue
			}
		}
		t0 := time.Now()
		moved, f := op(c, n)
		if f != nil {
			w.rec.fail(f.stage, f.err)
			if !f.keep {
				c.Close()
				c = nil
			}
			continue
		}
		w.rec.ok(time.Since(t0), moved)
	}
}

// uploads: one STOR per operation; mixed also lists /out and fetches its newest file.
func (w *worker) uploads(parent, ctx context.Context) {
	payload := payloadOf(w.o.Size)
	w.persistent(parent, ctx, func(c *ftpsclient.Client, n int64) (int64, *opFailure) {
		if err := c.Stor(fmt.Sprintf("/%s/%s_%06d.txt", w.o.Folder, w.name, n), payload.reader()); err != nil {
			return 0, &opFailure{stage: "stor", err: err}
		}
		if w.o.Scenario != Mixed {
			return w.o.Size, nil
		}
		entries, err := c.List("/out")
		if err != nil {
			return 0, &opFailure{stage: "list /out", err: err}
		}
		if len(entries) > 0 {
			if e := entries[len(entries)-1]; e.Type == 0 {
				if _, err := c.Download("/out/" + e.Name); err != nil {
					return 0, &opFailure{stage: "retr receipt", err: err}
				}
			}
		}
		return w.o.Size, nil
	})
}

// lists: one LIST of Dir per operation.
func (w *worker) lists(parent, ctx context.Context) {
	dir := w.o.Dir
	if dir == "" {
		dir = "/out"
	}
	w.persistent(parent, ctx, func(c *ftpsclient.Client, _ int64) (int64, *opFailure) {
		entries, err := c.List(dir)
		if err != nil {
			return 0, &opFailure{stage: "list", err: err}
		}
		if len(entries) < w.o.MinEntries {
			return 0, &opFailure{stage: "list", err: fmt.Errorf("%s has %d entries, fewer than the %d required", dir, len(entries), w.o.MinEntries), keep: true}
		}
		w.rec.entries.Store(int64(len(entries)))
		return 0, nil
	})
}

// idle: log in once and hold the session with a NOOP every 20 s until the run ends.
func (w *worker) idle(ctx context.Context) {
	t0 := time.Now()
	c, err := w.login(ctx)
	if err != nil {
		w.rec.fail(stageOf(err))
		return
	}
	defer c.Close()
	held := w.rec.held.Add(1)
	for {
		p := w.rec.peak.Load()
		if held <= p || w.rec.peak.CompareAndSwap(p, held) {
			break
		}
	}
	defer w.rec.held.Add(-1)
	w.rec.ok(time.Since(t0), 0) // latency: time to an authenticated session
	for {
		if sleepCtx(ctx, 20*time.Second) {
			return
		}
		if err := c.NoOp(); err != nil {
			w.rec.fail("noop", err)
			return
		}
	}
}

// sleepCtx sleeps d; true when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return true
	case <-t.C:
		return false
	}
}

// payload is random bytes repeated to the upload size without holding it all in memory.
type payload struct {
	block []byte
	size  int64
}

func payloadOf(size int64) payload {
	b := make([]byte, min(size, 1<<20))
	_, _ = rand.Read(b)
	for i := range b { // printable, so ASCII-mode servers store it unchanged
		b[i] = 'a' + b[i]%26
		if i%80 == 79 {
			b[i] = '\n'
		}
	}
	return payload{block: b, size: size}
}

func (p payload) reader() io.Reader {
	return io.LimitReader(&repeat{b: p.block}, p.size)
}

type repeat struct {
	b   []byte
	off int
}

func (r *repeat) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off = (r.off + n) % len(r.b)
	return n, nil
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

// loopbackOrProfile refuses addresses that resolve outside loopback unless the user said the
// profile's address is theirs to load (FTPSGW_LOAD_ALLOW_REMOTE=1): load is never sent
// anywhere by accident.
func loopbackOrProfile(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() && os.Getenv("FTPSGW_LOAD_ALLOW_REMOTE") != "1" {
			return fmt.Errorf("%s is not a loopback address; load goes to loopback only unless FTPSGW_LOAD_ALLOW_REMOTE=1 says this target is yours", host)
		}
	}
	return nil
}

// progress prints one line a second until the returned stop is called.
func progress(w io.Writer, scenario string, rec *recorder, start time.Time) func() {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintln(w)
				return
			case <-t.C:
				el := time.Since(start).Seconds()
				fmt.Fprintf(w, "\r%s: %5.0fs  ok %d  errors %d  %.1f ops/s  %.1f MB/s  held %d   ", scenario, el,
					rec.ops.Load(), rec.failed.Load(), float64(rec.ops.Load())/el, float64(rec.bytes.Load())/1e6/el, rec.held.Load())
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// Table writes the result as a readable table.
func (r *Result) Table(w io.Writer) {
	fmt.Fprintf(w, "scenario     %s against %s\n", r.Scenario, r.Target)
	fmt.Fprintf(w, "concurrency  %d, size %d bytes, elapsed %s\n", r.Concurrency, r.Size, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "ok           %d operations, %.1f ops/s, %.1f MB/s\n", r.Ops, r.Rate(), r.MBps())
	if r.Scenario == Idle {
		fmt.Fprintf(w, "held         %d sessions at once\n", r.HeldPeak)
	}
	if r.Scenario == List {
		fmt.Fprintf(w, "listed       %d entries in the last listing\n", r.Entries)
	}
	fmt.Fprintf(w, "latency      p50 %s  p90 %s  p99 %s  max %s\n", r.Percentile(50).Round(time.Microsecond*100),
		r.Percentile(90).Round(time.Microsecond*100), r.Percentile(99).Round(time.Microsecond*100), r.Percentile(100).Round(time.Microsecond*100))
	fmt.Fprintf(w, "errors       %d\n", r.ErrorCount())
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %6d  %s\n", r.Errors[k], k)
	}
	if l := r.Receipts; l != nil {
		state := "all arrived"
		if !l.Complete {
			state = "NOT all arrived within 2 minutes"
		}
		fmt.Fprintf(w, "receipts     status 1 for %d uploads: %d missing at the end of the run, the last %s after it (%s)\n",
			l.Uploads, l.BehindAtEnd, l.Last.Round(time.Millisecond), state)
	}
	if r.Server != nil && r.Server.Ended {
		fmt.Fprintf(w, "server       process %d was not running for the whole run: its CPU and memory are not measured\n", r.Server.PID)
	} else if r.Server != nil {
		fmt.Fprintf(w, "server       CPU %.2f s (%.0f%% of one core), memory peak %.1f MiB PSS (pid %d, with its children)\n",
			r.Server.CPU.Seconds(), 100*r.Server.CPU.Seconds()/r.Elapsed.Seconds(), float64(r.Server.RSSPeak)/(1<<20), r.Server.PID)
	} else {
		fmt.Fprintln(w, "server       CPU and RSS not measured (give --server-pid, or run without --target)")
	}
}
