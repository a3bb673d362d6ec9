package simulator

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/control/timeline"
	"github.com/ftpsgw/ftpsgw/simulator/internal/journal"
)

// The dashboard: a page at /ui/ on the control listener that shows, live, what clients do to
// the gateway (sessions folded from the journal by control/timeline, uploads with their
// receipts) and the gateway's state with switches. It reads through the same operations as
// the control API; every switch on the page is a control API call made by the browser with
// the user's token, so the page has no way in of its own. Reads under /ui/ follow the
// control API's address rule (loopback only unless control.allow_remote) but need no token.

//go:embed ui
var uiFiles embed.FS

// Bounds of the dashboard: the sessions it keeps folded, the rows one answer or one live
// message carries, the live streams open at once.
const (
	uiSessionsKept = 2000
	uiWindow       = 100
	uiMaxStreams   = 16
	uiUploadsShown = 100
	uiCoalesce     = 100 * time.Millisecond // live messages per stream: at most ten a second
	uiKeepAlive    = 15 * time.Second
)

type dashboard struct {
	g       *Gateway
	version string

	mu         sync.Mutex
	folder     *timeline.Folder
	resets     int64 // the journal's resets when folder was begun
	generation int64 // +1 each time folder starts again (a reset)
	lastFiles  int64 // seq of the last upload, download or receipt event folded

	stateVer atomic.Int64
	stateMu  sync.Mutex
	stateCh  chan struct{} // closed at the next state change

	streams chan struct{} // one token per open live stream
	done    chan struct{}
	stop    sync.Once
}

func newDashboard(g *Gateway, version string) *dashboard {
	return &dashboard{g: g, version: version, folder: timeline.NewFolder(uiSessionsKept), streams: make(chan struct{}, uiMaxStreams),
		done: make(chan struct{}), stateCh: make(chan struct{})}
}

// close ends the live streams (the control listener is shutting down).
func (d *dashboard) close() { d.stop.Do(func() { close(d.done) }) }

// stateChanged is called after every changing control API request.
func (d *dashboard) stateChanged() {
	d.stateVer.Add(1)
	d.stateMu.Lock()
	close(d.stateCh)
	d.stateCh = make(chan struct{})
	d.stateMu.Unlock()
}

func (d *dashboard) stateWait() <-chan struct{} {
	d.stateMu.Lock()
	defer d.stateMu.Unlock()
	return d.stateCh
}

// keep folds what the journal holds before it is reset: the dashboard keeps the sessions
// of before a reset (a certification resets the simulator before each scenario, and its
// report links to each scenario's sessions). Sequence numbers go on across resets.
func (d *dashboard) keep() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.catchUp()
}

// catchUp folds the journal's new events; the caller holds d.mu. A reset since the last
// call counts as a new generation (the page fetches the uploads again: the store was
// emptied), but the sessions folded so far stay.
func (d *dashboard) catchUp() {
	j := d.g.journal
	if r := j.Resets(); r != d.resets {
		d.resets = r
		d.generation++
	}
	j.Scan(journal.Query{Since: d.folder.Last()}, func(e control.Event) {
		d.folder.Add(e)
		switch e.Type {
		case control.EventUpload, control.EventDownload, control.EventReceipt:
			d.lastFiles = e.Seq
		}
	})
}

// routes mounts the page and its read-only answers on mux (behind uiGuard).
func (d *dashboard) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(uiFiles, "ui")
	files := http.FileServerFS(static)
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", noStore(files)))
	mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	handle := func(pattern string, fn func(r *http.Request) (any, error)) { jsonRoute(mux, pattern, fn) }
	handle("GET /ui/api/state", func(r *http.Request) (any, error) { return d.state(r.Context()) })
	handle("GET /ui/api/sessions", func(r *http.Request) (any, error) {
		before, err := queryInt(r, "before", 0)
		if err != nil {
			return nil, err
		}
		limit, err := queryInt(r, "limit", uiWindow)
		if err != nil || limit < 1 || limit > 500 {
			return nil, badRequest("limit must be 1 to 500")
		}
		from, err := queryInt(r, "from", -1)
		if err != nil {
			return nil, err
		}
		to, err := queryInt(r, "to", math.MaxInt64)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.catchUp()
		rows, more := d.folder.Window(before, int(limit))
		if from >= 0 {
			rows, more = d.folder.Between(from, to, int(limit))
		}
		return uiSessions{Sessions: summaries(rows), More: more, LastSeq: d.folder.Last(), Kept: d.folder.Len(), Generation: d.generation}, nil
	})
	handle("GET /ui/api/sessions/{id}", func(r *http.Request) (any, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.catchUp()
		s := d.folder.Get(r.PathValue("id"))
		if s == nil {
			return nil, &apiError{http.StatusNotFound, "no such session in the dashboard's window (it keeps the newest " + strconv.Itoa(uiSessionsKept) + ")"}
		}
		return s.Summary(timeline.MaxLines), nil
	})
	handle("GET /ui/api/uploads", func(r *http.Request) (any, error) { return d.uploads(r.Context()) })
	handle("GET /ui/api/receipt", func(r *http.Request) (any, error) {
		id, err := queryInt(r, "id", -1)
		if err != nil || id < 0 {
			return nil, badRequest("id must be an outbox file id")
		}
		return d.receipt(r.Context(), id, r.URL.Query().Get("name"))
	})
	handle("GET /ui/api/requirements", func(*http.Request) (any, error) { return uiRequirements() })
	mux.HandleFunc("GET /ui/events", d.events)
}

func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("%s must be a whole number (got %q)", name, s)
	}
	return n, nil
}

type uiSessions struct {
	Sessions   []timeline.Session `json:"sessions"`
	More       bool               `json:"more"`
	LastSeq    int64              `json:"last_seq"`
	Kept       int                `json:"kept"`
	Generation int64              `json:"generation"`
}

// uiRowLines is how many command and reply lines a row carries (the whole session on click).
const uiRowLines = 16

func summaries(rows []*timeline.Session) []timeline.Session {
	out := make([]timeline.Session, len(rows))
	for i, s := range rows {
		out[i] = s.Summary(uiRowLines)
	}
	return out
}

// uiState is what the page's switches show: each part as its control API route gives it.
type uiState struct {
	Health        control.Health         `json:"health"`
	Backend       control.Backend        `json:"backend"`
	Security      control.Security       `json:"security"`
	Registrations []control.Registration `json:"registrations"`
	Faults        control.Faults         `json:"faults"`
	Lease         *control.Lease         `json:"lease,omitempty"`
	TokenRequired bool                   `json:"token_required"`
	Finishable    bool                   `json:"finishable"` // a client observation runs: POST /finish ends it
	Observation   *control.Observation   `json:"observation,omitempty"`
	Version       int64                  `json:"version"`
}

func (d *dashboard) state(ctx context.Context) (uiState, error) {
	a := d.g.api
	st := uiState{Security: a.apiSecurity(), Faults: d.g.faults.get(), TokenRequired: d.g.cfg.Control.Token != "", Version: d.stateVer.Load(),
		Finishable: d.g.finish != nil, Observation: d.g.observed.Load()}
	var err error
	if st.Health, err = a.health(ctx, d.version); err != nil {
		return st, err
	}
	if st.Backend, err = a.apiBackend(ctx); err != nil {
		return st, err
	}
	if st.Registrations, err = a.apiRegistrations(ctx); err != nil {
		return st, err
	}
	st.Lease = d.g.lease.current(time.Now())
	return st, nil
}

// uiUpload is a submission with its receipts (their XML fetched on demand).
type uiUpload struct {
	control.Submission
	Receipts []uiReceipt `json:"receipts"`
}

type uiReceipt struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Code      int       `json:"code"`
	ErrorCode string    `json:"error_code,omitempty"`
	Created   time.Time `json:"created"`
	Deleted   bool      `json:"deleted"`
}

type uiUploads struct {
	Uploads []uiUpload    `json:"uploads"` // newest first
	Total   int           `json:"total"`
	Clock   control.Clock `json:"clock"`
}

func (d *dashboard) uploads(ctx context.Context) (uiUploads, error) {
	ds, total, err := d.g.store.RecentDeliveries(ctx, uiUploadsShown)
	if err != nil {
		return uiUploads{}, err
	}
	ids := make([]int64, len(ds))
	for i, del := range ds {
		ids[i] = del.ID
	}
	files, err := d.g.store.OutboxOf(ctx, ids)
	if err != nil {
		return uiUploads{}, err
	}
	bySub := map[int64][]uiReceipt{}
	for _, f := range files {
		bySub[f.SubmissionID] = append(bySub[f.SubmissionID], uiReceipt{ID: f.ID, Name: f.Name, Kind: string(f.Kind), Code: publicCode(f.Code),
			ErrorCode: f.ErrorCode, Created: f.CreatedAt, Deleted: !f.DeletedAt.IsZero()})
	}
	out := uiUploads{Uploads: make([]uiUpload, len(ds)), Total: total, Clock: d.g.api.apiClock()}
	for i, del := range ds {
		out.Uploads[i] = uiUpload{Submission: submissionToAPI(del), Receipts: bySub[del.ID]}
		if out.Uploads[i].Receipts == nil {
			out.Uploads[i].Receipts = []uiReceipt{}
		}
	}
	return out, nil
}

type uiReceiptContent struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

func (d *dashboard) receipt(ctx context.Context, id int64, name string) (uiReceiptContent, error) {
	f, ok, err := d.g.store.OutboxFile(ctx, id)
	if err != nil {
		return uiReceiptContent{}, err
	}
	if !ok || (name != "" && f.Name != name) {
		return uiReceiptContent{}, &apiError{http.StatusNotFound, "no such receipt"}
	}
	return uiReceiptContent{Name: f.Name, Content: string(f.Content)}, nil
}

type uiRequirement struct {
	catalogue.Requirement
	Party string `json:"party"` // gateway | client
}

var uiCatalogue = sync.OnceValues(func() ([]uiRequirement, error) {
	var out []uiRequirement
	for _, c := range []struct {
		fsys  fs.FS
		party string
	}{{features.FS, "gateway"}, {features.ClientFS, "client"}} {
		reqs, err := catalogue.LoadRequirements(c.fsys)
		if err != nil {
			return nil, err
		}
		for _, r := range reqs {
			out = append(out, uiRequirement{r, c.party})
		}
	}
	return out, nil
})

func uiRequirements() ([]uiRequirement, error) { return uiCatalogue() }

// uiUpdate is one live message: the sessions that changed since the last one, and whether
// the uploads or the state should be fetched again.
type uiUpdate struct {
	Sessions   []timeline.Session `json:"sessions"`
	LastSeq    int64              `json:"last_seq"`
	Files      bool               `json:"files"`
	State      bool               `json:"state"`
	Generation int64              `json:"generation"`
	Reset      bool               `json:"reset"`
}

// events is the live stream (server-sent events): an "update" whenever the journal or the
// state changed, at most ten a second, each with the sessions that changed (the newest
// uiWindow of them); a comment every uiKeepAlive. The journal is the buffer: a slow page
// gets fewer, larger updates, never a queue that grows.
func (d *dashboard) events(w http.ResponseWriter, r *http.Request) {
	select {
	case d.streams <- struct{}{}:
		defer func() { <-d.streams }()
	default:
		writeJSON(w, http.StatusServiceUnavailable, control.Error{Error: fmt.Sprintf("%d dashboards are open already; close one", uiMaxStreams)})
		return
	}
	cursor, err := queryInt(r, "since", 0)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, control.Error{Error: err.Error()})
		return
	}
	gen, err := queryInt(r, "generation", -1)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, control.Error{Error: err.Error()})
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": ftpsgw dashboard stream\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	stateSeen := d.stateVer.Load()
	keepAlive := time.NewTicker(uiKeepAlive)
	defer keepAlive.Stop()
	send := func(event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for {
		changed, stateCh := d.g.journal.Changed(), d.stateWait()
		d.mu.Lock()
		d.catchUp()
		up := uiUpdate{Sessions: []timeline.Session{}, LastSeq: d.folder.Last(), Generation: d.generation, Files: d.lastFiles > cursor}
		if gen >= 0 && gen != d.generation {
			up.Reset, up.Files, cursor = true, true, 0
		}
		gen = d.generation
		rows, _ := d.folder.Window(0, d.folder.Len())
		for _, s := range rows {
			if s.LastSeq <= cursor || len(up.Sessions) == uiWindow {
				continue
			}
			up.Sessions = append(up.Sessions, s.Summary(uiRowLines))
		}
		d.mu.Unlock()
		if v := d.stateVer.Load(); v != stateSeen {
			up.State, stateSeen = true, v
		}
		if len(up.Sessions) > 0 || up.Files || up.State || up.Reset || up.LastSeq != cursor {
			b, _ := json.Marshal(up)
			if !send("update", b) {
				return
			}
		}
		cursor = up.LastSeq
		select {
		case <-changed:
		case <-stateCh:
		case <-keepAlive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			continue
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		}
		select { // gather what comes with it
		case <-time.After(uiCoalesce):
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		}
	}
}

// uiGuard lets reads of the page through without the token, under the control API's address
// rule; anything else under /ui/ is refused (the switches are control API calls).
func (a *controlAPI) uiGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.refusedRemote(w, r, "the dashboard") {
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSON(w, http.StatusMethodNotAllowed, control.Error{Error: "the dashboard only reads; its switches are control API calls under " + control.APIPrefix})
			return
		}
		next.ServeHTTP(w, r)
	})
}
