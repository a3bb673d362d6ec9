// Package observe certifies a client product that cannot be scripted: the product does its
// normal work against a gateway simulator for as long as it takes, the gateway plays one case
// at a time on the connections it gets (a refused login, a connection dropped at an upload,
// the backend down, an impostor certificate), and the product's traffic is judged from the
// gateway's journal by the same rules (clientjudge) as the adapter-driven certification.
// A requirement the traffic gave nothing to judge is NOT EXERCISED, never a pass, with what
// the product would have to do.
package observe

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Identity is one certificate the product was given (the connection kit's).
type Identity struct {
	Name        string
	Username    string
	Fingerprint string // SHA-256 of its certificate
}

// Options configure an observation.
type Options struct {
	API        *control.Client
	Identities []Identity
	// Until ends the observation: its context is done (a duration, Ctrl-C) or Finish closes.
	Finish <-chan struct{}
	// Progress receives one line per case armed, hit and done.
	Progress io.Writer
	// Poll is how often the journal is read (default 200 ms).
	Poll time.Duration
	// Settle is how long a case waits for the product to show its reaction once the case
	// hit it (e.g. to come back after a dropped connection) before the next case (default 2m).
	Settle time.Duration
	// Cases to play, in order (default: DefaultCases).
	Cases []CaseKind
	// Since is the journal position the observation begins after (0: the simulator's first
	// event; a fresh simulator's whole journal is the product's).
	Since int64
	// Report, when set, is called about once a second with the observation so far (in the
	// director's goroutine: it must not keep obs), e.g. to Publish it to the dashboard.
	Report func(obs *Observation)
}

// CaseKind names a condition the gateway plays.
type CaseKind string

// The cases, in their default order: the connection faults first (a product's retry is
// what they judge), then the backend outage, then the impostors (a product that trusts
// nothing would otherwise stop working early).
const (
	CaseLoginDropped  CaseKind = "login-dropped"    // the control connection closed at the next PASS
	CaseUploadDropped CaseKind = "upload-dropped"   // the control connection closed at the next STOR
	CaseBackendDown   CaseKind = "backend-down"     // the backend down: receipts come late
	CaseForeignCA     CaseKind = "impostor-foreign" // a certificate from a CA the product was not given
	CaseWrongHost     CaseKind = "impostor-host"    // a trusted certificate made out to another host
)

// DefaultCases is every case in its order.
var DefaultCases = []CaseKind{CaseLoginDropped, CaseUploadDropped, CaseBackendDown, CaseForeignCA, CaseWrongHost}

// Case is one case as it was played.
type Case struct {
	Kind        CaseKind
	Description string
	Armed       int64 // the journal's last sequence number when it was armed (0: never)
	Hit         int64 // the event at which it hit the product (0: it never did)
	Done        int64 // when the gateway went back to normal
	Recovered   int64 // the product's first accepted upload after the hit (0: none)
	Note        string
	// Ambiguous are the connections in their TLS handshake when an impostor case was armed
	// or put away: which certificate they were shown is not known, so no rule judges them.
	Ambiguous map[string]bool
}

// inHandshake adds the sessions that sent AUTH TLS and have no TLS event yet.
func (d *director) inHandshake(into map[string]bool) {
	authed := map[string]bool{}
	for _, e := range d.obs.Events {
		switch {
		case e.Type == control.EventCommand && isAuth(e.Line):
			authed[e.Session] = true
		case e.Type == control.EventTLS, e.Type == control.EventDisconnect:
			delete(authed, e.Session)
		}
	}
	for s := range authed {
		into[s] = true
	}
}

func (c Case) describe() string {
	switch c.Kind {
	case CaseLoginDropped:
		return "the gateway closes the control connection when the product sends its password (once)"
	case CaseUploadDropped:
		return "the gateway closes the control connection when the product starts an upload (once; nothing is stored)"
	case CaseBackendDown:
		return "the backend goes down: the product's next upload is accepted, its receipts come late"
	case CaseForeignCA:
		return "on the product's next connection the gateway presents a certificate from a CA the product was not given"
	case CaseWrongHost:
		return "on the product's next connection the gateway presents a trusted certificate made out to another host"
	}
	return string(c.Kind)
}

// Observation is what was seen: the journal from the start, the cases, the span.
type Observation struct {
	Events   []control.Event
	Cases    []Case
	Started  time.Time
	Ended    time.Time
	FirstSeq int64 // the journal's last sequence number at the start
	// Submissions are the gateway's accepted uploads at the end (names, sizes, SHA-256).
	Submissions []control.Submission
	Receipts    []control.Receipt
}

type director struct {
	opts  Options
	obs   *Observation
	last  int64
	cur   int // index of the case being played
	hitAt time.Time
}

// Observe watches the product until ctx ends or Finish closes, playing the cases one at a
// time, and returns what it saw. An error means the gateway's control API failed.
func Observe(ctx context.Context, opts Options) (*Observation, error) {
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Minute
	}
	if opts.Cases == nil {
		opts.Cases = DefaultCases
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	bg := context.Background() // the last reads and the restoring calls outlive ctx
	if _, err := opts.API.Journal(bg, control.JournalQuery{Since: math.MaxInt64}); err != nil {
		return nil, fmt.Errorf("reading the gateway's journal: %w", err)
	}
	d := &director{opts: opts, obs: &Observation{Started: time.Now(), FirstSeq: opts.Since}, last: opts.Since}
	var err error
	for _, k := range opts.Cases {
		c := Case{Kind: k}
		c.Description = c.describe()
		d.obs.Cases = append(d.obs.Cases, c)
	}
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	var loopErr error
	reported := time.Time{}
	for loopErr == nil {
		select {
		case <-ctx.Done():
		case <-opts.Finish:
		case <-tick.C:
			if loopErr = d.read(bg); loopErr == nil {
				loopErr = d.step(bg)
			}
			if opts.Report != nil && time.Since(reported) >= time.Second {
				d.obs.Ended = time.Now()
				opts.Report(d.obs)
				reported = time.Now()
			}
			continue
		}
		break
	}
	// Back to normal, whatever was armed; then the last of the journal, after a moment for
	// the connections still closing to be recorded.
	restoreErr := d.restore(bg)
	time.Sleep(time.Second)
	if err := d.read(bg); err != nil && loopErr == nil {
		loopErr = err
	}
	d.obs.Ended = time.Now()
	if loopErr == nil {
		loopErr = restoreErr
	}
	if loopErr != nil {
		return d.obs, loopErr
	}
	if d.obs.Submissions, err = opts.API.Submissions(bg, ""); err != nil {
		return d.obs, err
	}
	if d.obs.Receipts, err = opts.API.Receipts(bg, ""); err != nil {
		return d.obs, err
	}
	return d.obs, nil
}

func (d *director) read(ctx context.Context) error {
	j, err := d.opts.API.Journal(ctx, control.JournalQuery{Since: d.last})
	if err != nil {
		return fmt.Errorf("reading the gateway's journal: %w", err)
	}
	if j.LastSeq > d.last && len(j.Events) > 0 && j.Events[0].Seq > d.last+1 && d.last > d.obs.FirstSeq {
		fmt.Fprintf(d.opts.Progress, "observe: the journal dropped %d events between two reads (it keeps the newest only)\n", j.Events[0].Seq-d.last-1)
	}
	d.obs.Events = append(d.obs.Events, j.Events...)
	if j.LastSeq > d.last {
		d.last = j.LastSeq
	}
	return nil
}

// after returns the events after seq.
func (d *director) after(seq int64) []control.Event {
	evs := d.obs.Events
	lo, hi := 0, len(evs)
	for lo < hi {
		m := (lo + hi) / 2
		if evs[m].Seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return evs[lo:]
}

func acceptedUpload(e control.Event) bool { return e.Type == control.EventUpload && e.OK }

func (d *director) step(ctx context.Context) error {
	if d.cur >= len(d.obs.Cases) {
		return nil
	}
	c := &d.obs.Cases[d.cur]
	api := d.opts.API
	switch {
	case c.Armed == 0:
		// A case is played only after the product has shown it works with the genuine
		// gateway (an accepted upload), and after its previous case's reaction.
		seen := false
		for _, e := range d.obs.Events {
			seen = seen || acceptedUpload(e)
		}
		if !seen {
			return nil
		}
		if err := d.arm(ctx, c); err != nil {
			return err
		}
		c.Armed = d.last
		if c.Kind == CaseForeignCA || c.Kind == CaseWrongHost {
			if err := d.read(ctx); err != nil {
				return err
			}
			c.Ambiguous = map[string]bool{}
			d.inHandshake(c.Ambiguous)
		}
		fmt.Fprintf(d.opts.Progress, "observe: case %d of %d armed: %s\n", d.cur+1, len(d.obs.Cases), c.Description)
	case c.Hit == 0:
		for _, e := range d.after(c.Armed) {
			if d.hits(c, e) {
				c.Hit, d.hitAt = e.Seq, time.Now()
				fmt.Fprintf(d.opts.Progress, "observe: case %s hit the product (journal event %d)\n", c.Kind, e.Seq)
				if c.Kind == CaseForeignCA || c.Kind == CaseWrongHost {
					// one connection only: the genuine certificate again from the next one
					if err := api.SetFaults(ctx, control.Faults{}); err != nil {
						return err
					}
					if err := d.read(ctx); err != nil { // what began before the genuine one was back
						return err
					}
					c.Done = d.last
					d.inHandshake(c.Ambiguous)
				}
				break
			}
		}
	default:
		if c.Recovered == 0 {
			for _, e := range d.after(c.Hit) {
				if acceptedUpload(e) {
					c.Recovered = e.Seq
					break
				}
			}
		}
		settled := time.Since(d.hitAt) >= d.opts.Settle
		switch c.Kind {
		case CaseForeignCA, CaseWrongHost:
			// done at the hit; a short pause lets the product's retries pass first
			if time.Since(d.hitAt) < 3*time.Second {
				return nil
			}
		case CaseBackendDown:
			// up again once the product has looked for its receipts after the upload, or
			// after Settle
			looked := false
			for _, e := range d.after(c.Hit) {
				looked = looked || lookedInOut(e)
			}
			if !looked && !settled {
				return nil
			}
			if err := api.SetBackendUp(ctx, true); err != nil {
				return err
			}
			c.Done = d.last
		default:
			if c.Recovered == 0 && !settled {
				return nil
			}
			c.Done = d.last
		}
		fmt.Fprintf(d.opts.Progress, "observe: case %s done\n", c.Kind)
		d.cur++
	}
	return nil
}

// lookedInOut: a listing or a download of /out (the product polling for receipts).
func lookedInOut(e control.Event) bool {
	switch e.Type {
	case control.EventDownload:
		return true
	case control.EventCommand:
		verb, arg := verbArg(e.Line)
		return (verb == "LIST" || verb == "NLST" || verb == "MLSD" || verb == "CWD") && containsOut(arg)
	}
	return false
}

func (d *director) arm(ctx context.Context, c *Case) error {
	api := d.opts.API
	switch c.Kind {
	case CaseLoginDropped:
		return api.SetFaults(ctx, control.Faults{DropAtLogin: 1})
	case CaseUploadDropped:
		return api.SetFaults(ctx, control.Faults{DropAtStor: 1})
	case CaseBackendDown:
		return api.SetBackendUp(ctx, false)
	case CaseForeignCA:
		return api.SetFaults(ctx, control.Faults{ServerCertificate: control.ImpostorForeignCA})
	case CaseWrongHost:
		return api.SetFaults(ctx, control.Faults{ServerCertificate: control.ImpostorWrongHost})
	}
	return fmt.Errorf("unknown case %q", c.Kind)
}

func (d *director) hits(c *Case, e control.Event) bool {
	switch c.Kind {
	case CaseLoginDropped, CaseUploadDropped:
		return e.Type == control.EventDisconnect && e.Reason == "fault injected: control connection dropped"
	case CaseBackendDown:
		return acceptedUpload(e)
	case CaseForeignCA, CaseWrongHost:
		// the handshake of a connection made while the impostor was armed, whatever its
		// outcome (a product that refuses may end the connection before a TLS event)
		return (e.Type == control.EventTLS || e.Type == control.EventDisconnect) && authAfter(d.obs.Events, e.Session, c.Armed)
	}
	return false
}

// authAfter: the session sent AUTH TLS after the event seq (the certificate a connection is
// shown is chosen at its handshake, right after AUTH).
func authAfter(evs []control.Event, session string, seq int64) bool {
	for _, e := range evs {
		if e.Seq > seq && e.Session == session && e.Type == control.EventCommand && isAuth(e.Line) {
			return true
		}
	}
	return false
}

func isAuth(line string) bool {
	verb, _ := verbArg(line)
	return verb == "AUTH"
}

// restore puts the gateway back to normal: no faults armed, the backend up.
func (d *director) restore(ctx context.Context) error {
	if d.cur < len(d.obs.Cases) {
		if c := &d.obs.Cases[d.cur]; c.Armed != 0 && c.Done == 0 {
			c.Done = d.last
			c.Note = "the observation ended while this case was in play"
		}
	}
	if err := d.opts.API.SetFaults(ctx, control.Faults{}); err != nil {
		return err
	}
	return d.opts.API.SetBackendUp(ctx, true)
}
