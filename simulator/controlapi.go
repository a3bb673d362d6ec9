package simulator

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/journal"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// The control API: HTTP+JSON under /control/v1 (described by control/openapi.yaml) and
// Prometheus metrics at /metrics, on a listener of its own. Loopback clients only unless
// control.allow_remote; a bearer token when control.token is set. A request that is not
// understood (bad JSON, unknown fields, bad durations) gets 400 and changes nothing.

var errRealClock = errors.New("the clock is real: start the simulator with --clock virtual to move time")

// maxAdvance bounds one clock advance (each hour replicates once).
const maxAdvance = 400 * 24 * time.Hour

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// jsonRoute serves fn's answer as JSON (204 when it is nil) and maps errors to statuses.
func jsonRoute(mux *http.ServeMux, pattern string, fn func(r *http.Request) (any, error)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		out, err := fn(r)
		if err != nil {
			status := http.StatusInternalServerError
			var ae *apiError
			switch {
			case errors.As(err, &ae):
				status = ae.status
			case errors.Is(err, store.ErrNotRegistered), errors.Is(err, errNotReceived):
				status = http.StatusNotFound
			case errors.Is(err, errRealClock):
				status = http.StatusConflict
			case errors.Is(err, errUnreachable), errors.Is(err, errRemote):
				status = http.StatusServiceUnavailable
			}
			writeJSON(w, status, control.Error{Error: err.Error()})
			return
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if st, ok := out.(streamed); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			bw := bufio.NewWriterSize(w, 32<<10)
			if st.writeJSON(bw) == nil {
				_ = bw.Flush()
			}
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// controlAPI is the HTTP front of the control API: routes, the token guard and the lease
// guard over the Gateway's operations.
type controlAPI struct{ g *Gateway }

func (a *controlAPI) controlHandler(version string) http.Handler {
	mux := http.NewServeMux()
	p := control.APIPrefix
	handle := func(pattern string, fn func(r *http.Request) (any, error)) { jsonRoute(mux, pattern, fn) }
	// Each route decodes, calls one domain operation (operations.go) and encodes.
	handle("GET "+p+"/health", func(r *http.Request) (any, error) { return a.g.api.health(r.Context(), version) })
	handle("POST "+p+"/reset", func(r *http.Request) (any, error) { return nil, a.g.Reset(r.Context()) })
	handle("GET "+p+"/registrations", func(r *http.Request) (any, error) { return a.g.api.apiRegistrations(r.Context()) })
	handle("POST "+p+"/registrations", func(r *http.Request) (any, error) {
		var body control.Registration
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return a.g.Register(r.Context(), body)
	})
	handle("DELETE "+p+"/registrations/{username}", func(r *http.Request) (any, error) {
		return nil, a.g.Unregister(r.Context(), r.PathValue("username"))
	})
	handle("PUT "+p+"/security/roles/{username}", func(r *http.Request) (any, error) {
		var body control.Roles
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return nil, a.g.SetRoles(r.Context(), r.PathValue("username"), body.Roles)
	})
	handle("POST "+p+"/security/replicate", func(r *http.Request) (any, error) { return nil, a.g.ReplicateNow(r.Context()) })
	handle("GET "+p+"/security", func(r *http.Request) (any, error) { return a.g.api.apiSecurity(), nil })
	handle("PUT "+p+"/security", func(r *http.Request) (any, error) {
		var body control.Security
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		if body.Reachable == nil {
			return nil, badRequest(`give {"reachable": true|false}`)
		}
		return a.g.api.apiSecurity(), a.g.SetSecurityReachable(r.Context(), *body.Reachable)
	})
	handle("GET "+p+"/backend", func(r *http.Request) (any, error) { return a.g.api.apiBackend(r.Context()) })
	handle("PUT "+p+"/backend", func(r *http.Request) (any, error) {
		var body control.Backend
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return a.g.SetBackend(r.Context(), body)
	})
	handle("GET "+p+"/faults", func(r *http.Request) (any, error) { return a.g.faults.get(), nil })
	handle("PUT "+p+"/faults", func(r *http.Request) (any, error) {
		var body control.Faults
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return body, a.g.SetFaults(body)
	})
	handle("POST "+p+"/lease", func(r *http.Request) (any, error) {
		var body control.Lease
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return a.g.Lease(body)
	})
	handle("DELETE "+p+"/lease/{holder}", func(r *http.Request) (any, error) {
		a.g.lease.release(r.PathValue("holder"))
		return nil, nil
	})
	handle("GET "+p+"/clock", func(r *http.Request) (any, error) { return a.g.api.apiClock(), nil })
	handle("POST "+p+"/clock/advance", func(r *http.Request) (any, error) {
		var body control.Advance
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(body.By)
		if err != nil || d < 0 || d > maxAdvance {
			return nil, badRequest(`"by" must be a duration from 0s to %s, e.a.g. "7h" or "90s" (got %q)`, maxAdvance, body.By)
		}
		if _, err := a.g.AdvanceClock(r.Context(), d); err != nil {
			return nil, err
		}
		return a.g.api.apiClock(), nil
	})
	handle("GET "+p+"/journal", func(r *http.Request) (any, error) {
		q, err := journalQuery(r)
		if err != nil {
			return nil, err
		}
		return journalStream{a.g.journal, q}, nil
	})
	handle("PUT "+p+"/observation", func(r *http.Request) (any, error) {
		var body control.Observation
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		a.g.observed.Store(&body)
		return nil, nil
	})
	handle("GET "+p+"/observation", func(r *http.Request) (any, error) {
		if o := a.g.observed.Load(); o != nil {
			return o, nil
		}
		return nil, &apiError{http.StatusNotFound, "no client observation has reported here (certify-client --observe)"}
	})
	handle("POST "+p+"/finish", func(r *http.Request) (any, error) {
		if a.g.finish == nil {
			return nil, &apiError{http.StatusNotFound, "nothing to finish: this simulator is not observing a client (certify-client --observe)"}
		}
		a.g.finish()
		return nil, nil
	})
	handle("GET "+p+"/receipts", func(r *http.Request) (any, error) {
		return a.g.api.apiReceipts(r.Context(), r.URL.Query().Get("username"))
	})
	handle("GET "+p+"/submissions", func(r *http.Request) (any, error) {
		return a.g.api.apiSubmissions(r.Context(), r.URL.Query().Get("username"))
	})
	mux.HandleFunc("GET "+p+"/schema/status.xsd", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(StatusXSD)
	})
	a.g.api.diagnostics(mux)
	api := a.g.api.guard(a.g.api.leaseGuard(mux))
	// The dashboard (dashboard.go): its reads need no token; every change it makes is one of
	// the calls above, and each change wakes its live streams.
	d := newDashboard(a.g, version)
	a.g.dashboard = d
	ui := http.NewServeMux()
	d.routes(ui)
	uiHandler := a.uiGuard(ui)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/") {
			uiHandler.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			d.stateChanged()
		}
	})
}

// diagnostics serves Prometheus metrics and, when asked for, Go's profiler, behind the same
// guard (loopback or token): control.pprof / serve --pprof.
func (a *controlAPI) diagnostics(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.g.metrics.registry, promhttp.HandlerOpts{}))
	if a.g.cfg.Control.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}

// journalQuery reads GET /journal's filters.
func journalQuery(r *http.Request) (journal.Query, error) {
	q := r.URL.Query()
	jq := journal.Query{Username: q.Get("username"), Session: q.Get("session")}
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return jq, badRequest("since must be a journal sequence number (got %q)", s)
		}
		jq.Since = n
	}
	for _, t := range q["type"] {
		if !slices.Contains(control.EventTypes, control.EventType(t)) {
			return jq, badRequest("type %q is not an event type (%s)", t, joinTypes(control.EventTypes))
		}
		jq.Types = append(jq.Types, control.EventType(t))
	}
	return jq, nil
}

// streamed is an answer too large to build in memory first: it writes its JSON itself.
type streamed interface{ writeJSON(w io.Writer) error }

// journalStream is GET /journal: a control.Journal written event by event as the journal
// decodes them (a full journal, 200,000 events, is ~80 MB of JSON; built first it briefly
// took ~400 MB), in the same form writeJSON gives.
type journalStream struct {
	j *journal.Journal
	q journal.Query
}

func (s journalStream) writeJSON(w io.Writer) error {
	last, dropped := s.j.Stats()
	var err error
	write := func(b []byte) {
		if err == nil {
			_, err = w.Write(b)
		}
	}
	write([]byte("{\n  \"events\": ["))
	n := 0
	s.j.Scan(s.q, func(e control.Event) {
		if err != nil {
			return
		}
		b, merr := json.MarshalIndent(e, "    ", "  ")
		if merr != nil {
			err = merr
			return
		}
		if n > 0 {
			write([]byte(","))
		}
		write([]byte("\n    "))
		write(b)
		n++
	})
	if n > 0 {
		write([]byte("\n  "))
	}
	write(fmt.Appendf(nil, "],\n  \"last_seq\": %d,\n  \"dropped\": %d\n}\n", last, dropped))
	return err
}

// refusedRemote answers 403 to a client that is not on loopback, unless control.allow_remote
// (what names the listener's part in the message: the control API, the dashboard).
func (a *controlAPI) refusedRemote(w http.ResponseWriter, r *http.Request, what string) bool {
	if a.g.cfg.Control.AllowRemote {
		return false
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return false
	}
	writeJSON(w, http.StatusForbidden, control.Error{Error: what + " answers loopback clients only (control.allow_remote)"})
	return true
}

// guard enforces loopback-only access and the bearer token, and bounds request bodies.
func (a *controlAPI) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.refusedRemote(w, r, "the control API") {
			return
		}
		if tok := a.g.cfg.Control.Token; tok != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ftpsgw"`)
				writeJSON(w, http.StatusUnauthorized, control.Error{Error: "missing or wrong bearer token"})
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decode reads exactly one JSON object with only known fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("the request needs a JSON body")
		}
		return badRequest("bad JSON: %v", err)
	}
	if dec.More() {
		return badRequest("bad JSON: more than one value in the body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("bad JSON: trailing data after the object")
	}
	return nil
}

func joinTypes(ts []control.EventType) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return strings.Join(out, ", ")
}

// leaseGuard refuses changing requests (not GET, not the lease's own) from anyone but the
// lease holder while a lease is held.
func (a *controlAPI) leaseGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.HasPrefix(r.URL.Path, control.APIPrefix+"/lease") {
			if msg := a.g.lease.busyFor(r.Header.Get(control.LeaseHeader), time.Now()); msg != "" {
				writeJSON(w, http.StatusConflict, control.Error{Error: msg})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
