package simulator

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/clock"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// The simulator's domain operations behind the control API: each validates its input and
// changes the gateway's state; the routes in controlapi.go only decode and encode.

// Unregister removes a registration from the security system and the replica.
func (g *Gateway) Unregister(ctx context.Context, username string) error {
	if err := g.replica.security.Unregister(ctx, username); err != nil {
		return err
	}
	return g.replica.loadRoles(ctx)
}

// SetRoles changes a username's roles in the security system; the gateway shows them after
// the next replication.
func (g *Gateway) SetRoles(ctx context.Context, username string, roles []string) error {
	if err := validateRoles(roles); err != nil {
		return err
	}
	if err := g.replica.security.SetRoles(ctx, username, roles); err != nil {
		return err
	}
	if g.replica.sourceChanged() {
		return g.ReplicateNow(ctx)
	}
	return nil
}

// SetFaults arms connection drops (at most 100 of each).
func (g *Gateway) SetFaults(f control.Faults) error {
	if f.DropAtLogin < 0 || f.DropAtStor < 0 || f.DropAtLogin > 100 || f.DropAtStor > 100 {
		return badRequest("fault counts must be 0 to 100")
	}
	if name := f.ServerCertificate; name != "" {
		if _, ok := g.impostors[name]; !ok {
			if len(g.impostors) == 0 {
				return &apiError{http.StatusConflict, fmt.Sprintf("server_certificate %q: this gateway's PKI holds no impostor certificates (a PKI made by an older ftpsgw, or the operator's own certificate); recreate it with `ftpsgw pki init --force`", name)}
			}
			return badRequest("server_certificate %q is unknown: use %q, %q or \"\" (the genuine certificate)", name, control.ImpostorForeignCA, control.ImpostorWrongHost)
		}
	}
	g.faults.set(f)
	return nil
}

// ClockMode is the clock the gateway runs on.
func (g *Gateway) ClockMode() ClockMode { return ClockMode(g.api.apiClock().Mode) }

func (a *controlAPI) apiClock() control.Clock {
	mode := ClockReal
	if _, ok := a.g.clock.(*clock.Virtual); ok {
		mode = ClockVirtual
	}
	return control.Clock{Now: a.g.clock.Now(), Mode: string(mode)}
}

func (a *controlAPI) health(ctx context.Context, version string) (control.Health, error) {
	n, _, err := a.g.store.QueueStats(ctx)
	if err != nil {
		return control.Health{}, err
	}
	return control.Health{Status: "ok", Version: version, Clock: a.g.api.apiClock(), BackendUp: a.g.pipeline.backendUp(a.g.clock.Now()),
		SecurityReachable: a.g.replica.securityReachable(), LastReplication: a.g.replica.lastReplication(), QueueDepth: n,
		FTPS: a.g.addrs.Control, FTPSImplicit: a.g.addrs.Implicit}, nil
}

func (a *controlAPI) apiSecurity() control.Security {
	r := a.g.replica.securityReachable()
	return control.Security{Reachable: &r, LastReplication: a.g.replica.lastReplication(), NextReplication: a.g.replica.nextReplication()}
}

func (a *controlAPI) apiRegistrations(ctx context.Context) ([]control.Registration, error) {
	regs, err := a.g.store.Registrations(ctx)
	if err != nil {
		return nil, err
	}
	out := []control.Registration{}
	for _, r := range regs {
		out = append(out, control.Registration{Username: r.Username, CVR: r.CVR, Fingerprint: r.Fingerprint, Roles: store.NonNil(r.Roles)})
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

// Register registers a certificate: it must be issued by the gateway's CA, valid now and
// not revoked; its username comes from the certificate.
func (g *Gateway) Register(ctx context.Context, body control.Registration) (control.Registration, error) {
	var none control.Registration
	block, _ := pem.Decode([]byte(body.CertificatePEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return none, badRequest("certificate_pem must hold a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return none, badRequest("certificate_pem: %v", err)
	}
	if err := g.tlsGuard.trust.verifyClient([]*x509.Certificate{cert}, g.clock.Now()); err != nil {
		return none, badRequest("%v", err)
	}
	id, err := certs.FromCertificate(cert)
	if err != nil && !(errors.Is(err, certs.ErrPersonalCertificate) && g.logins.usernameOf(id) != "") {
		if errors.Is(err, certs.ErrPersonalCertificate) {
			return none, badRequest("%v; to admit it, give its PID a username in personal_usernames (ASSUMED setting)", err)
		}
		return none, badRequest("%v", err)
	}
	if body.Username != "" && body.Username != g.logins.usernameOf(id) {
		return none, badRequest("username %q does not belong to the certificate, whose username is %s", body.Username, g.logins.usernameOf(id))
	}
	if len(body.Password) < 8 {
		return none, badRequest("password must be at least 8 characters")
	}
	if err := validateRoles(body.Roles); err != nil {
		return none, err
	}
	reg := store.Registration{Username: g.logins.usernameOf(id), CVR: id.CVR, Fingerprint: certs.Fingerprint(cert), Roles: body.Roles}
	if err := g.register(ctx, reg, body.Password, g.clock.Now()); err != nil {
		return none, err
	}
	if err := g.replica.loadRoles(ctx); err != nil {
		return none, err
	}
	return control.Registration{Username: reg.Username, CVR: reg.CVR, Fingerprint: reg.Fingerprint, Roles: store.NonNil(reg.Roles)}, nil
}

func ruleFromAPI(name string, r control.ServiceRule) (ServiceRule, error) {
	out := ServiceRule{Action: r.Action, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		RequireASCII: r.RequireASCII, RecordLength: r.RecordLength, FixedRecord: r.FixedRecord, Preset: r.Preset, Lists: r.Lists, Reply: r.Reply}
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
		RequireASCII: r.RequireASCII, RecordLength: r.RecordLength, FixedRecord: r.FixedRecord, Preset: r.Preset, Lists: r.Lists, Reply: r.Reply,
		ExposeDelay: r.ExposeDelay.Std().String()}
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

// SetBackend changes the backend link (up or down) and service rules; a rule that does not
// validate changes nothing.
func (g *Gateway) SetBackend(ctx context.Context, body control.Backend) (control.Backend, error) {
	next := g.pipeline.backendSettings()
	if err := applyRules(&next, body.Default, body.Services); err != nil {
		return control.Backend{}, err
	}
	if body.Default != nil || len(body.Services) > 0 {
		if err := g.pipeline.backend.SetRules(ctx, control.BackendRules{Default: body.Default, Services: body.Services}); err != nil {
			return control.Backend{}, err
		}
	}
	if body.Up != nil {
		next.Up = *body.Up
	}
	if err := g.pipeline.setBackend(ctx, next); err != nil {
		return control.Backend{}, err
	}
	return g.api.apiBackend(ctx)
}

// apiBackend is the link state with the rules of the backend in use (the remote one's, when
// backend.url is set).
func (a *controlAPI) apiBackend(ctx context.Context) (control.Backend, error) {
	out := backendToAPI(a.g.pipeline.backendSettings(), a.g.pipeline.backendUp(a.g.clock.Now()))
	rules, err := a.g.pipeline.backend.Rules(ctx)
	out.Default, out.Services = rules.Default, rules.Services
	return out, err
}

// register registers a certificate in the security system (the remote one too, when
// security.url is set) and in the replica: a registration takes effect now.
func (g *Gateway) register(ctx context.Context, reg store.Registration, password string, now time.Time) error {
	hash, err := store.HashPassword(password)
	if err != nil {
		return err
	}
	return g.replica.security.Register(ctx, reg, hash, now)
}

const metaSecurityReachable = "security_reachable"

// SetSecurityReachable cuts or restores the link to the security system (persisted).
func (g *Gateway) SetSecurityReachable(ctx context.Context, reachable bool) error {
	if err := g.store.SetMeta(ctx, metaSecurityReachable, strconv.FormatBool(reachable)); err != nil {
		return err
	}
	g.replica.repl.setReachable(reachable)
	return nil
}

func (a *controlAPI) apiReceipts(ctx context.Context, username string) ([]control.Receipt, error) {
	files, err := a.g.store.Outbox(ctx, username)
	if err != nil {
		return nil, err
	}
	subs, err := a.g.store.Submissions(ctx, username)
	if err != nil {
		return nil, err
	}
	byID := map[int64]store.Submission{}
	for _, s := range subs {
		byID[s.ID] = s
	}
	out := []control.Receipt{}
	for _, f := range files {
		s := byID[f.SubmissionID]
		out = append(out, control.Receipt{Username: f.Username, Service: s.Service, Filename: s.Name, Kind: string(f.Kind), Code: publicCode(f.Code),
			Name: f.Name, Created: f.CreatedAt, Deleted: !f.DeletedAt.IsZero(), ErrorCode: f.ErrorCode, Content: string(f.Content)})
	}
	return out, nil
}

func (a *controlAPI) apiSubmissions(ctx context.Context, username string) ([]control.Submission, error) {
	ds, err := a.g.store.Deliveries(ctx, username)
	if err != nil {
		return nil, err
	}
	out := []control.Submission{}
	for _, d := range ds {
		out = append(out, submissionToAPI(d))
	}
	return out, nil
}

func submissionToAPI(d store.Delivery) control.Submission {
	sub := control.Submission{ID: d.ID, Username: d.Username, Service: d.Service, Name: d.Name, Size: d.Size,
		SHA256: d.SHA256, ASCII: d.ASCII, Validation: d.Validation, Reused: d.Reused, ReceivedAt: d.ReceivedAt,
		State: string(d.State), Attempts: d.Attempts}
	if d.State != store.StateDone {
		sub.NextAt = d.NextAt
	}
	return sub
}

// Reset returns the simulator to its initial registrations, with empty journal, name
// registry, queues and /out folders, the backend and security system as configured. Open
// sessions are closed. A virtual clock goes back to the wall clock's time.
func (g *Gateway) Reset(ctx context.Context) error {
	g.pipeline.state.mu.Lock()
	defer g.pipeline.state.mu.Unlock()
	// The remote parts first: if one does not answer, nothing changes here.
	if err := g.pipeline.backend.Reset(ctx); err != nil {
		return err
	}
	if err := g.replica.security.Reset(ctx); err != nil {
		return err
	}
	open := g.sessions.all()
	for _, c := range g.sessions.conns() {
		_ = c.Close() // the session's own goroutine then disconnects it
	}
	// Their disconnections go into the journal before it is emptied, not after (a stray
	// event of the last scenario in the next one's journal); bounded, a stuck one is left.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		gone := true
		for _, s := range open {
			gone = gone && g.sessions.get(s.id) == nil
		}
		if gone {
			break
		}
	}
	recorded, err := g.store.SpoolPaths(ctx)
	if err != nil {
		return err
	}
	if err := g.store.ResetAll(ctx); err != nil {
		return err
	}
	g.pipeline.state.queued.Store(0)
	// Only the simulator's own files: those its database recorded, and partial uploads.
	removed := removeSpool(g.log, g.dataDir, recorded) + removePartialUploads(g.log, g.dataDir)
	g.log.Info("reset: the simulator's registrations, receipts and journal are back to their start", "files_removed", removed)
	if vc, ok := g.clock.(*clock.Virtual); ok {
		vc.Rewind(time.Now())
		if err := g.store.SetMetaTime(ctx, metaVirtualNow, vc.Now()); err != nil {
			return err
		}
	}
	if g.dashboard != nil {
		g.dashboard.keep() // the sessions so far stay on the dashboard (a report links to them)
	}
	g.journal.Reset()
	g.logins.limiter.reset()
	initial := g.cfg.Backend
	g.pipeline.link.reset(&initial)
	g.replica.repl.reset(g.cfg.Security.Reachable)
	g.faults.set(control.Faults{})
	return g.initialRegistrations(ctx)
}

// Lease takes or renews the lease (POST /lease).
func (g *Gateway) Lease(body control.Lease) (control.Lease, error) {
	holder := strings.TrimSpace(body.Holder)
	if holder == "" || len(holder) > 200 {
		return control.Lease{}, badRequest("holder must name the run (1 to 200 characters)")
	}
	ttl := 2 * time.Minute
	if body.TTL != "" {
		d, err := time.ParseDuration(body.TTL)
		if err != nil || d <= 0 || d > maxLeaseTTL {
			return control.Lease{}, badRequest(`"ttl" must be a duration up to %s (got %q)`, maxLeaseTTL, body.TTL)
		}
		ttl = d
	}
	return g.lease.acquire(holder, ttl, time.Now())
}

// ReplicateNow replicates at once (control API).
func (g *Gateway) ReplicateNow(ctx context.Context) error {
	g.pipeline.state.mu.Lock()
	defer g.pipeline.state.mu.Unlock()
	return g.replica.replicate(ctx, g.clock.Now())
}

// AdvanceClock moves a virtual clock forward by d, running everything that falls due, in
// order, before it returns.
func (g *Gateway) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	vc, ok := g.clock.(*clock.Virtual)
	if !ok {
		return time.Time{}, errRealClock
	}
	if d < 0 {
		return time.Time{}, fmt.Errorf("cannot move the clock backwards (%s)", d)
	}
	g.pipeline.state.mu.Lock()
	defer g.pipeline.state.mu.Unlock()
	target := vc.Now().Add(d)
	for {
		if err := g.pipeline.runDueLocked(ctx); err != nil {
			return vc.Now(), err
		}
		next, ok := g.pipeline.nextDue(ctx)
		if !ok || next.After(target) || !next.After(vc.Now()) {
			break
		}
		vc.Set(next)
	}
	vc.Set(target)
	if err := g.store.SetMetaTime(ctx, metaVirtualNow, target); err != nil {
		return target, err
	}
	return target, g.pipeline.runDueLocked(ctx)
}

// seedHistory adds cfg.SeedHistory.Uploads finished uploads to an identity's history, for
// benchmarks of what the receipt loop, the name registry and LIST /out cost with receipts
// kept (issue 18). Each is as the pipeline leaves it: its name burned, its delivery done, a
// status 1 and a status 2 rendered as usual and live in /out. They are spread over the
// retention period, oldest first, so none expires while a benchmark runs. A store that
// already holds uploads of that identity is left as it is (a restart does not seed twice).
func (g *Gateway) seedHistory(ctx context.Context, m *certs.Manifest) error {
	n := g.cfg.SeedHistory.Uploads
	if n == 0 {
		return nil
	}
	name := g.cfg.SeedHistory.Identity
	if name == "" {
		name = "moces"
	}
	var id *certs.ManifestIdentity
	for i := range m.Identities {
		if m.Identities[i].Name == name {
			id = &m.Identities[i]
		}
	}
	if id == nil || id.Username == "" || len(id.Roles) == 0 {
		return fmt.Errorf("seed_history.identity %q: no identity of that name with a username and a folder in the PKI", name)
	}
	have, err := g.store.CountSubmissions(ctx, id.Username)
	if err != nil || have > 0 {
		if err == nil {
			g.log.Info("seed_history: the store already holds uploads of this identity; not seeded again", "identity", name, "uploads", have)
		}
		return err
	}
	started := time.Now()
	now := g.clock.Now()
	span := max(g.cfg.Retention.Std()-24*time.Hour, time.Hour)
	step := span / time.Duration(n)
	content := []byte("seeded history (benchmark)\n")
	sum := sha256.Sum256(content)
	service := id.Roles[0]
	scope := g.uploads.scopeKey(id.Username, id.CVR)
	files := func(d store.Delivery) []store.OutboxFile {
		at := d.ReceivedAt
		return []store.OutboxFile{g.pipeline.receipt(d, receipt.CodeDelivered, at, "", nil, ""), g.pipeline.receipt(d, receipt.CodeAccepted, at.Add(time.Second), "", nil, "")}
	}
	for from := 0; from < n; from += seedBatch {
		subs := make([]store.Submission, 0, seedBatch)
		for i := from; i < min(from+seedBatch, n); i++ {
			subs = append(subs, store.Submission{Username: id.Username, CVR: id.CVR, Service: service, Name: fmt.Sprintf("hist_%07d.txt", i),
				Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), Session: "seed", ReceivedAt: now.Add(-span + time.Duration(i)*step),
				Inline: content})
		}
		if err := g.store.SeedFinished(ctx, scope, subs, receipt.NewTransactionID, files); err != nil {
			return fmt.Errorf("seed_history: %w", err)
		}
	}
	g.log.Info("seed_history: added finished uploads with their receipts", "identity", name, "uploads", n, "receipts", 2*n,
		"took", time.Since(started).Round(time.Millisecond))
	return nil
}

// seedBatch is the number of seeded uploads per transaction.
const seedBatch = 10_000
