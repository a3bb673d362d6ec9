package simulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// The central security system. Registrations and roles live in the security system (the
// embedded one's table security_source, or `ftpsgw security` over HTTP); the gateway works
// from a replica that is refreshed every replication_interval (documented: hourly) on the
// gateway's clock, or on request. A role change in the source is therefore invisible until
// the next replication; when the source is unreachable the gateway keeps serving from its
// last replica (docs/GATEWAY.md §4).

const metaLastReplication = "last_replication"

var errUnreachable = errors.New("the security system is unreachable; the gateway keeps its last replica")

// SecuritySystem is where registrations and roles come from.
type SecuritySystem interface {
	// Register puts a registration (password already hashed) into the security system and
	// the gateway's replica: a registration takes effect at once.
	Register(ctx context.Context, reg store.Registration, hash string, now time.Time) error
	// Unregister removes a registration from the security system and the replica.
	Unregister(ctx context.Context, username string) error
	// SetRoles changes a username's roles in the security system only: the gateway sees
	// them after the next replication.
	SetRoles(ctx context.Context, username string, roles []string) error
	// Replicate brings the replica up to date with the source (dirty: the source was changed
	// through this gateway since the last replication). It reports whether the replica
	// changed; errUnreachable when the source did not answer.
	Replicate(ctx context.Context, now time.Time, dirty bool) (changed bool, err error)
	// Empty reports whether the source holds no registration (a fresh start), or errUnreachable.
	Empty(ctx context.Context) (bool, error)
	// Reset empties the source.
	Reset(ctx context.Context) error
}

// embeddedSecurity is the security system as a table of the gateway's own database.
type embeddedSecurity struct{ store *store.Store }

func (e embeddedSecurity) Register(ctx context.Context, reg store.Registration, hash string, now time.Time) error {
	return e.store.PutRegistrationHash(ctx, reg, hash, now, "registrations", "security_source")
}

func (e embeddedSecurity) Unregister(ctx context.Context, username string) error {
	return e.store.DeleteRegistration(ctx, username)
}

func (e embeddedSecurity) SetRoles(ctx context.Context, username string, roles []string) error {
	return e.store.Source().SetSourceRoles(ctx, username, roles)
}

func (e embeddedSecurity) Replicate(ctx context.Context, now time.Time, dirty bool) (bool, error) {
	if !dirty {
		// Only a change through the control API can make the replica differ; an unchanged
		// source is replicated without touching the database.
		return false, nil
	}
	if err := e.store.Replicate(ctx); err != nil {
		return false, err
	}
	return true, e.store.SetMetaTime(ctx, metaLastReplication, now)
}

func (e embeddedSecurity) Empty(ctx context.Context) (bool, error) {
	n, err := e.store.CountRegistrations(ctx)
	return n == 0, err
}

// Reset: the gateway's reset empties every table of its database, this one's too.
func (embeddedSecurity) Reset(context.Context) error { return nil }

// httpSecurity is `ftpsgw security`, reached over HTTP; the replica is the gateway's.
type httpSecurity struct {
	store *store.Store
	c     *control.SecurityClient
}

func (h httpSecurity) Register(ctx context.Context, reg store.Registration, hash string, now time.Time) error {
	if err := h.call(func() error {
		return h.c.Put(ctx, control.SecurityRecord{Username: reg.Username, CVR: reg.CVR, Fingerprint: reg.Fingerprint,
			PasswordHash: hash, Roles: store.NonNil(reg.Roles), CreatedAt: now})
	}); err != nil {
		return err
	}
	return h.store.PutRegistrationHash(ctx, reg, hash, now, "registrations", "security_source")
}

func (h httpSecurity) Unregister(ctx context.Context, username string) error {
	if err := h.call(func() error { return h.c.Delete(ctx, username) }); err != nil {
		return err
	}
	// The remote source said yes; the replica may not have had it yet.
	if err := h.store.DeleteRegistration(ctx, username); err != nil && !errors.Is(err, store.ErrNotRegistered) {
		return err
	}
	return nil
}

func (h httpSecurity) SetRoles(ctx context.Context, username string, roles []string) error {
	return h.call(func() error { return h.c.SetRoles(ctx, username, roles) })
}

func (h httpSecurity) Replicate(ctx context.Context, now time.Time, _ bool) (bool, error) {
	snap, err := h.snapshot(ctx)
	if err != nil {
		return false, err
	}
	have, _, err := h.store.Meta(ctx, store.MetaReplicaVersion)
	if err != nil {
		return false, err
	}
	changed := have != strconv.FormatInt(snap.Version, 10)
	if changed {
		if err := h.store.ReplaceReplica(ctx, snap); err != nil {
			return false, err
		}
	}
	return changed, h.store.SetMetaTime(ctx, metaLastReplication, now)
}

func (h httpSecurity) Empty(ctx context.Context) (bool, error) {
	snap, err := h.snapshot(ctx)
	return len(snap.Registrations) == 0, err
}

func (h httpSecurity) Reset(ctx context.Context) error {
	return h.call(func() error { return h.c.Reset(ctx) })
}

// snapshot fetches the remote registrations; any failure counts as unreachable.
func (h httpSecurity) snapshot(ctx context.Context) (control.SecuritySnapshot, error) {
	snap, err := h.c.Snapshot(ctx)
	if err != nil {
		return snap, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	return snap, nil
}

// call maps a failed request: 404 is an unknown username, another 4xx the caller's mistake
// (400), anything else means the security system did not answer (503).
func (h httpSecurity) call(fn func() error) error {
	if err := fn(); err != nil {
		if s := control.StatusOf(err); s == http.StatusNotFound {
			return store.ErrNotRegistered
		} else if s >= 400 && s < 500 {
			return badRequest("security system: %v", err)
		}
		return fmt.Errorf("%w (security system at %s): %v", errRemote, h.c.URL(), err)
	}
	return nil
}

// replication is the gateway's replication of the security system: whether the link is up
// (PUT /control/v1/security), when it last replicated and tried to, whether the source changed
// since, and how many attempts failed in a row. It owns its lock.
type replication struct {
	interval, retryMin time.Duration

	mu          sync.Mutex
	reachable   bool
	last        time.Time // last successful replication
	lastAttempt time.Time
	dirty       bool // the source may differ from the replica
	failures    int  // replications failed in a row (a remote security system)
}

func (r *replication) isReachable() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reachable
}

func (r *replication) setReachable(v bool) {
	r.mu.Lock()
	r.reachable = v
	r.mu.Unlock()
}

func (r *replication) lastReplication() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// next is when the next scheduled replication falls due: an interval after the last
// attempt, sooner (with back-off) after failures.
func (r *replication) next() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	interval := r.interval
	if r.failures > 0 {
		b := r.retryMin
		for i := 1; i < r.failures && b < interval; i++ {
			b *= 2
		}
		interval = min(b, interval)
	}
	return r.lastAttempt.Add(interval)
}

func (r *replication) attempt(now time.Time) {
	r.mu.Lock()
	r.lastAttempt = now
	r.mu.Unlock()
}

func (r *replication) markDirty() {
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
}

func (r *replication) isDirty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dirty
}

// failed counts a failed attempt and returns the failures in a row.
func (r *replication) failed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures++
	return r.failures
}

// succeeded records a replication at now that took in the source as it was when dirty was read.
func (r *replication) succeeded(now time.Time, wasDirty bool) (endedFailures int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	endedFailures = r.failures
	r.last, r.failures = now, 0
	r.dirty = r.dirty && !wasDirty
	return endedFailures
}

// startAt sets the last replication (from the database, or a fresh registration).
func (r *replication) startAt(t time.Time) {
	r.mu.Lock()
	r.last, r.lastAttempt = t, t
	r.mu.Unlock()
}

func (r *replication) reset(reachable bool) {
	r.mu.Lock()
	r.reachable, r.failures = reachable, 0
	r.mu.Unlock()
}

// securityReplica is the gateway's replica of the central security system: registrations and
// roles as last replicated, the replication's schedule and failures, and the role view logins
// and listings read.
type securityReplica struct {
	*core
	repl     *replication   // replication of the security system
	roles    *roleView      // username -> current roles (own lock)
	security SecuritySystem // embedded or `ftpsgw security`
}

func (sr *securityReplica) securityReachable() bool    { return sr.repl.isReachable() }
func (sr *securityReplica) nextReplication() time.Time { return sr.repl.next() }
func (sr *securityReplica) lastReplication() time.Time { return sr.repl.lastReplication() }

// sourceChanged notes that the security system changed; it reports whether the gateway must
// show the change at once (roles not served from the replica: roles-without-replication).
func (sr *securityReplica) sourceChanged() (replicateNow bool) {
	sr.markSourceChanged()
	return !sr.rules.Folders.RolesFromReplica
}

func (sr *securityReplica) markSourceChanged() { sr.repl.markDirty() }

func (sr *securityReplica) replicateIfDue(ctx context.Context, now time.Time) error {
	if now.Before(sr.nextReplication()) {
		return nil
	}
	if err := sr.replicate(ctx, now); err != nil && !errors.Is(err, errUnreachable) {
		return err
	}
	return nil
}

// replicate copies the security system into the gateway's replica now.
func (sr *securityReplica) replicate(ctx context.Context, now time.Time) error {
	sr.repl.attempt(now)
	if !sr.securityReachable() {
		sr.metrics.replications.WithLabelValues("unreachable").Inc()
		sr.log.Warn("replication failed: security system unreachable; serving from the last replica",
			"last_replication", sr.lastReplication())
		return errUnreachable
	}
	return sr.replicateFromSource(ctx, now)
}

// replicateFromSource asks the security system for its data, whatever the reachable switch.
func (sr *securityReplica) replicateFromSource(ctx context.Context, now time.Time) error {
	dirty := sr.repl.isDirty()
	changed, err := sr.security.Replicate(ctx, now, dirty)
	if errors.Is(err, errUnreachable) {
		n := sr.repl.failed()
		sr.metrics.replications.WithLabelValues("unreachable").Inc()
		sr.metrics.linkErrors.WithLabelValues("security").Inc()
		sr.log.Warn("replication failed; serving from the last replica", "err", err, "failures", n,
			"last_replication", sr.lastReplication(), "next_try", sr.nextReplication())
		return err
	}
	if err != nil {
		sr.metrics.replications.WithLabelValues("error").Inc()
		return err
	}
	if changed {
		if err := sr.loadRoles(ctx); err != nil {
			return err
		}
	}
	if n := sr.repl.succeeded(now, dirty); n > 0 {
		sr.log.Info("security system reachable again", "after_failures", n)
	}
	sr.metrics.replications.WithLabelValues("ok").Inc()
	return nil
}

// currentRoles returns the roles a username holds now.
func (sr *securityReplica) currentRoles(username string) []string {
	return sr.roles.of(username, !sr.rules.Folders.FilterByRoles)
}

// roleView is the roles each username holds now, as last replicated. It owns its lock.
type roleView struct {
	mu    sync.Mutex
	roles map[string][]string
}

func (v *roleView) set(roles map[string][]string) {
	v.mu.Lock()
	v.roles = roles
	v.mu.Unlock()
}

// of returns a username's roles; all folds every role of every username together (a
// gateway that does not filter folders by role).
func (v *roleView) of(username string, all bool) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if all {
		var out []string
		for _, roles := range v.roles {
			for _, r := range roles {
				if !slices.Contains(out, r) {
					out = append(out, r)
				}
			}
		}
		return out
	}
	return v.roles[username]
}

// ofCVR lists the usernames of one CVR, username itself first.
func (v *roleView) ofCVR(username, cvr string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	owners := []string{username}
	for u := range v.roles {
		if id, err := certs.ParseUsername(u); err == nil && id.CVR == cvr && u != username {
			owners = append(owners, u)
		}
	}
	return owners
}
