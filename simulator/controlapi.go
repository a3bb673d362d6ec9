package simulator

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
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
			case errors.Is(err, ErrNotRegistered), errors.Is(err, errNotReceived):
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
		writeJSON(w, http.StatusOK, out)
	})
}

func (g *Gateway) controlHandler(version string) http.Handler {
	mux := http.NewServeMux()
	p := control.APIPrefix
	handle := func(pattern string, fn func(r *http.Request) (any, error)) { jsonRoute(mux, pattern, fn) }
	handle("GET "+p+"/health", func(r *http.Request) (any, error) { return g.health(r.Context(), version) })
	handle("POST "+p+"/reset", func(r *http.Request) (any, error) { return nil, g.Reset(r.Context()) })
	handle("GET "+p+"/registrations", func(r *http.Request) (any, error) { return g.apiRegistrations(r.Context()) })
	handle("POST "+p+"/registrations", g.apiRegister)
	handle("DELETE "+p+"/registrations/{username}", func(r *http.Request) (any, error) {
		u := r.PathValue("username")
		if err := g.remoteSecurity(func(c *control.SecurityClient) error { return c.Delete(r.Context(), u) }); err != nil {
			return nil, err
		}
		if err := g.store.DeleteRegistration(r.Context(), u); err != nil && !(g.remoteSec != nil && errors.Is(err, ErrNotRegistered)) {
			return nil, err
		}
		return nil, g.loadRoles(r.Context())
	})
	handle("PUT "+p+"/security/roles/{username}", func(r *http.Request) (any, error) {
		var body control.Roles
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		if err := validateRoles(body.Roles); err != nil {
			return nil, err
		}
		u := r.PathValue("username")
		if g.remoteSec != nil {
			if err := g.remoteSecurity(func(c *control.SecurityClient) error { return c.SetRoles(r.Context(), u, body.Roles) }); err != nil {
				return nil, err
			}
		} else if err := g.store.SetSourceRoles(r.Context(), u, body.Roles); err != nil {
			return nil, err
		}
		g.markSourceChanged()
		if !g.rules.Folders.RolesFromReplica {
			return nil, g.ReplicateNow(r.Context())
		}
		return nil, nil
	})
	handle("POST "+p+"/security/replicate", func(r *http.Request) (any, error) { return nil, g.ReplicateNow(r.Context()) })
	handle("GET "+p+"/security", func(r *http.Request) (any, error) { return g.apiSecurity(), nil })
	handle("PUT "+p+"/security", func(r *http.Request) (any, error) {
		var body control.Security
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		if body.Reachable == nil {
			return nil, badRequest(`give {"reachable": true|false}`)
		}
		return g.apiSecurity(), g.SetSecurityReachable(r.Context(), *body.Reachable)
	})
	handle("GET "+p+"/backend", func(r *http.Request) (any, error) { return g.apiBackend(r.Context()) })
	handle("PUT "+p+"/backend", g.apiSetBackend)
	handle("GET "+p+"/faults", func(r *http.Request) (any, error) {
		g.stateMu.Lock()
		defer g.stateMu.Unlock()
		return g.faults, nil
	})
	handle("PUT "+p+"/faults", func(r *http.Request) (any, error) {
		var body control.Faults
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		if body.DropAtLogin < 0 || body.DropAtStor < 0 || body.DropAtLogin > 100 || body.DropAtStor > 100 {
			return nil, badRequest("fault counts must be 0 to 100")
		}
		g.stateMu.Lock()
		g.faults = body
		g.stateMu.Unlock()
		return body, nil
	})
	handle("GET "+p+"/clock", func(r *http.Request) (any, error) { return g.apiClock(), nil })
	handle("POST "+p+"/clock/advance", func(r *http.Request) (any, error) {
		var body control.Advance
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(body.By)
		if err != nil || d < 0 || d > maxAdvance {
			return nil, badRequest(`"by" must be a duration from 0s to %s, e.g. "7h" or "90s" (got %q)`, maxAdvance, body.By)
		}
		if _, err := g.AdvanceClock(r.Context(), d); err != nil {
			return nil, err
		}
		return g.apiClock(), nil
	})
	handle("GET "+p+"/journal", g.apiJournal)
	handle("GET "+p+"/receipts", func(r *http.Request) (any, error) { return g.apiReceipts(r.Context(), r.URL.Query().Get("username")) })
	handle("GET "+p+"/submissions", func(r *http.Request) (any, error) {
		return g.apiSubmissions(r.Context(), r.URL.Query().Get("username"))
	})
	mux.HandleFunc("GET "+p+"/schema/status.xsd", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(StatusXSD)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.registry, promhttp.HandlerOpts{}))
	if g.cfg.Control.Pprof {
		// Go's profiler, behind the same guard (loopback or token): control.pprof / serve --pprof.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return g.guard(mux)
}

// guard enforces loopback-only access and the bearer token, and bounds request bodies.
func (g *Gateway) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.cfg.Control.AllowRemote {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				writeJSON(w, http.StatusForbidden, control.Error{Error: "the control API answers loopback clients only (control.allow_remote)"})
				return
			}
		}
		if tok := g.cfg.Control.Token; tok != "" {
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

// ClockMode is "real" or "virtual".
func (g *Gateway) ClockMode() string { return g.apiClock().Mode }

func (g *Gateway) apiClock() control.Clock {
	mode := ClockReal
	if _, ok := g.clock.(*VirtualClock); ok {
		mode = ClockVirtual
	}
	return control.Clock{Now: g.clock.Now(), Mode: mode}
}

func (g *Gateway) health(ctx context.Context, version string) (control.Health, error) {
	n, _, err := g.store.QueueStats(ctx)
	if err != nil {
		return control.Health{}, err
	}
	return control.Health{Status: "ok", Version: version, Clock: g.apiClock(), BackendUp: g.backendUp(g.clock.Now()),
		SecurityReachable: g.securityReachable(), LastReplication: g.lastReplication(), QueueDepth: n,
		FTPS: g.addrs.Control, FTPSImplicit: g.addrs.Implicit}, nil
}

func (g *Gateway) apiSecurity() control.Security {
	r := g.securityReachable()
	return control.Security{Reachable: &r, LastReplication: g.lastReplication(), NextReplication: g.nextReplication()}
}

func (g *Gateway) apiRegistrations(ctx context.Context) ([]control.Registration, error) {
	regs, err := g.store.Registrations(ctx)
	if err != nil {
		return nil, err
	}
	out := []control.Registration{}
	for _, r := range regs {
		out = append(out, control.Registration{Username: r.Username, CVR: r.CVR, Fingerprint: r.Fingerprint, Roles: nonNil(r.Roles)})
	}
	return out, nil
}

var roleRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func validateRoles(roles []string) error {
	for _, r := range roles {
		if !roleRe.MatchString(r) || r == outFolder {
			return badRequest("role %q is not a service folder name (letters, digits, '.', '_', '-'; not %q)", r, outFolder)
		}
	}
	return nil
}

// apiRegister registers a certificate: it must be issued by the gateway's CA, valid now and
// not revoked; its username comes from the certificate.
func (g *Gateway) apiRegister(r *http.Request) (any, error) {
	var body control.Registration
	if err := decode(r, &body); err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(body.CertificatePEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, badRequest("certificate_pem must hold a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, badRequest("certificate_pem: %v", err)
	}
	if err := g.trust.verifyClient([]*x509.Certificate{cert}, g.clock.Now()); err != nil {
		return nil, badRequest("%v", err)
	}
	id, err := certs.FromCertificate(cert)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if body.Username != "" && body.Username != id.Username() {
		return nil, badRequest("username %q does not belong to the certificate, whose username is %s", body.Username, id.Username())
	}
	if len(body.Password) < 8 {
		return nil, badRequest("password must be at least 8 characters")
	}
	if err := validateRoles(body.Roles); err != nil {
		return nil, err
	}
	reg := Registration{Username: id.Username(), CVR: id.CVR, Fingerprint: certs.Fingerprint(cert), Roles: body.Roles}
	if err := g.register(r.Context(), reg, body.Password, g.clock.Now()); err != nil {
		return nil, err
	}
	if err := g.loadRoles(r.Context()); err != nil {
		return nil, err
	}
	return control.Registration{Username: reg.Username, CVR: reg.CVR, Fingerprint: reg.Fingerprint, Roles: nonNil(reg.Roles)}, nil
}

func ruleFromAPI(name string, r control.ServiceRule) (ServiceRule, error) {
	out := ServiceRule{Action: r.Action, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		RequireASCII: r.RequireASCII, RecordLength: r.RecordLength, Reply: r.Reply}
	for _, d := range []struct {
		field string
		in    string
		out   *Duration
	}{{"delay", r.Delay, &out.Delay}, {"expose_delay", r.ExposeDelay, &out.ExposeDelay}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return out, badRequest("%s.%s: %q is not a duration", name, d.field, d.in)
		}
		*d.out = Duration(v)
	}
	if err := validateRule(name, out); err != nil {
		return out, badRequest("%v", err)
	}
	return out, nil
}

func ruleToAPI(r ServiceRule) control.ServiceRule {
	return control.ServiceRule{Action: r.Action, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, Delay: r.Delay.Std().String(),
		RequireASCII: r.RequireASCII, RecordLength: r.RecordLength, Reply: r.Reply, ExposeDelay: r.ExposeDelay.Std().String()}
}

func backendToAPI(b BackendSettings, upNow bool) control.Backend {
	def := ruleToAPI(b.Default)
	out := control.Backend{Up: &upNow, Default: &def, Services: map[string]control.ServiceRule{}}
	for name, r := range b.Services {
		out.Services[name] = ruleToAPI(r)
	}
	return out
}

// applyRules applies a default and per-service rules given through an API to b.
func applyRules(b *BackendSettings, def *control.ServiceRule, services map[string]control.ServiceRule) error {
	if def != nil {
		rule, err := ruleFromAPI("default", *def)
		if err != nil {
			return err
		}
		b.Default = rule
	}
	for name, in := range services {
		if err := validateRoles([]string{name}); err != nil {
			return err
		}
		rule, err := ruleFromAPI("services."+name, in)
		if err != nil {
			return err
		}
		b.Services[name] = rule
	}
	return nil
}

const metaBackend = "backend_state"

// backendState is the part of the backend settings the control API changes; it is persisted.
type backendState struct {
	Up       bool                   `json:"up"`
	Default  ServiceRule            `json:"default"`
	Services map[string]ServiceRule `json:"services"`
}

func (g *Gateway) apiSetBackend(r *http.Request) (any, error) {
	var body control.Backend
	if err := decode(r, &body); err != nil {
		return nil, err
	}
	next := g.backendSettings()
	if err := applyRules(&next, body.Default, body.Services); err != nil {
		return nil, err
	}
	if body.Default != nil || len(body.Services) > 0 {
		if err := g.remoteBackendCall(func(c *control.BackendClient) error {
			_, err := c.SetRules(r.Context(), control.BackendRules{Default: body.Default, Services: body.Services})
			return err
		}); err != nil {
			return nil, err
		}
	}
	if body.Up != nil {
		next.Up = *body.Up
	}
	if err := g.setBackend(r.Context(), next); err != nil {
		return nil, err
	}
	return g.apiBackend(r.Context())
}

// apiBackend is the link state with the rules of the backend in use (the remote one's, when
// backend.url is set).
func (g *Gateway) apiBackend(ctx context.Context) (control.Backend, error) {
	out := backendToAPI(g.backendSettings(), g.backendUp(g.clock.Now()))
	err := g.remoteBackendCall(func(c *control.BackendClient) error {
		rules, err := c.Rules(ctx)
		out.Default, out.Services = rules.Default, rules.Services
		return err
	})
	return out, err
}

// register registers a certificate in the security system (the remote one too, when
// security.url is set) and in the replica: a registration takes effect now.
func (g *Gateway) register(ctx context.Context, reg Registration, password string, now time.Time) error {
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	if err := g.remoteSecurity(func(c *control.SecurityClient) error {
		return c.Put(ctx, control.SecurityRecord{Username: reg.Username, CVR: reg.CVR, Fingerprint: reg.Fingerprint,
			PasswordHash: hash, Roles: nonNil(reg.Roles), CreatedAt: now})
	}); err != nil {
		return err
	}
	return g.store.putRegistrationHash(ctx, reg, hash, now, "registrations", "security_source")
}

// setBackend applies and persists backend settings; when the link comes back, waiting
// deliveries are due at once (receipts then flow in their original order).
func (g *Gateway) setBackend(ctx context.Context, next BackendSettings) error {
	g.tickMu.Lock()
	defer g.tickMu.Unlock()
	wasUp := g.backendUp(g.clock.Now())
	if err := g.store.SetMetaJSON(ctx, metaBackend, backendState{Up: next.Up, Default: next.Default, Services: next.Services}); err != nil {
		return err
	}
	g.stateMu.Lock()
	g.backend = next
	g.stateMu.Unlock()
	if !wasUp && g.backendUp(g.clock.Now()) {
		g.stateMu.Lock()
		g.link = linkState{} // try the remote backend at once too
		g.stateMu.Unlock()
		if err := g.store.Kick(ctx, g.clock.Now()); err != nil {
			return err
		}
		if !g.rules.Outage.InUploadOrder {
			if err := g.store.ReverseWaiting(ctx, g.clock.Now()); err != nil {
				return err
			}
		}
	}
	g.kick()
	return nil
}

const metaSecurityReachable = "security_reachable"

// SetSecurityReachable cuts or restores the link to the security system (persisted).
func (g *Gateway) SetSecurityReachable(ctx context.Context, reachable bool) error {
	if err := g.store.SetMeta(ctx, metaSecurityReachable, strconv.FormatBool(reachable)); err != nil {
		return err
	}
	g.stateMu.Lock()
	g.secReachable = reachable
	g.stateMu.Unlock()
	return nil
}

func (g *Gateway) apiJournal(r *http.Request) (any, error) {
	q := r.URL.Query()
	jq := JournalQuery{Username: q.Get("username"), Session: q.Get("session")}
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, badRequest("since must be a journal sequence number (got %q)", s)
		}
		jq.Since = n
	}
	for _, t := range q["type"] {
		jq.Types = append(jq.Types, EventType(t))
	}
	last, dropped := g.journal.Stats()
	events := g.journal.Query(jq)
	if events == nil {
		events = []Event{}
	}
	return control.Journal{Events: events, LastSeq: last, Dropped: dropped}, nil
}

func (g *Gateway) apiReceipts(ctx context.Context, username string) ([]control.Receipt, error) {
	files, err := g.store.Outbox(ctx, username)
	if err != nil {
		return nil, err
	}
	subs, err := g.store.Submissions(ctx, username)
	if err != nil {
		return nil, err
	}
	byID := map[int64]Submission{}
	for _, s := range subs {
		byID[s.ID] = s
	}
	out := []control.Receipt{}
	for _, f := range files {
		s := byID[f.SubmissionID]
		out = append(out, control.Receipt{Username: f.Username, Service: s.Service, Filename: s.Name, Kind: f.Kind, Code: f.Code,
			Name: f.Name, Created: f.CreatedAt, Deleted: !f.DeletedAt.IsZero(), ErrorCode: f.ErrorCode, Content: string(f.Content)})
	}
	return out, nil
}

func (g *Gateway) apiSubmissions(ctx context.Context, username string) ([]control.Submission, error) {
	ds, err := g.store.Deliveries(ctx, username)
	if err != nil {
		return nil, err
	}
	out := []control.Submission{}
	for _, d := range ds {
		out = append(out, control.Submission{ID: d.ID, Username: d.Username, Service: d.Service, Name: d.Name, Size: d.Size,
			SHA256: d.SHA256, ASCII: d.ASCII, Validation: d.Validation, Reused: d.Reused, ReceivedAt: d.ReceivedAt,
			State: d.State, Attempts: d.Attempts})
	}
	return out, nil
}

// Reset returns the simulator to its initial registrations, with empty journal, name
// registry, queues and /out folders, the backend and security system as configured. Open
// sessions are closed. A virtual clock goes back to the wall clock's time.
func (g *Gateway) Reset(ctx context.Context) error {
	g.tickMu.Lock()
	defer g.tickMu.Unlock()
	// The remote parts first: if one does not answer, nothing changes here.
	if err := g.remoteBackendCall(func(c *control.BackendClient) error { return c.Reset(ctx) }); err != nil {
		return err
	}
	if err := g.remoteSecurity(func(c *control.SecurityClient) error { return c.Reset(ctx) }); err != nil {
		return err
	}
	g.mu.Lock()
	open := make([]net.Conn, 0, len(g.rawConns))
	for _, c := range g.rawConns {
		open = append(open, c)
	}
	g.mu.Unlock()
	for _, c := range open {
		_ = c.Close() // the session's own goroutine then disconnects it
	}
	if err := g.store.ResetAll(ctx); err != nil {
		return err
	}
	g.queued.Store(0)
	for _, d := range []string{"out", "spool", "tmp"} {
		p := filepath.Join(g.dataDir, d)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		if err := os.MkdirAll(p, 0o750); err != nil {
			return err
		}
	}
	if vc, ok := g.clock.(*VirtualClock); ok {
		vc.rewind(time.Now())
		if err := g.store.SetMetaTime(ctx, metaVirtualNow, vc.Now()); err != nil {
			return err
		}
	}
	g.journal.Reset()
	g.limiter.reset()
	g.stateMu.Lock()
	g.backend = g.cfg.Backend
	g.secReachable = g.cfg.Security.Reachable
	g.faults = control.Faults{}
	g.link, g.replFailures = linkState{}, 0
	g.stateMu.Unlock()
	return g.initialRegistrations(ctx)
}
