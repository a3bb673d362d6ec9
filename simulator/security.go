package simulator

import (
	"context"
	"errors"
	"time"
)

// The central security system. Registrations and roles live in its own table
// (security_source); the gateway works from a replica that is refreshed every
// replication_interval (documented: hourly) on the gateway's clock, or on request. A role
// change in the source is therefore invisible until the next replication; when the source is
// unreachable the gateway keeps serving from its last replica (GATEWAY.md §4).

const metaLastReplication = "last_replication"

var errUnreachable = errors.New("the security system is unreachable; the gateway keeps its last replica")

func (g *Gateway) securityReachable() bool {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	return g.secReachable
}

// nextReplication is when the next scheduled replication falls due.
func (g *Gateway) nextReplication() time.Time {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	return g.lastReplAttempt.Add(g.cfg.Security.ReplicationInterval.Std())
}

func (g *Gateway) lastReplication() time.Time {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	return g.lastRepl
}

func (g *Gateway) replicateIfDue(ctx context.Context, now time.Time) error {
	if now.Before(g.nextReplication()) {
		return nil
	}
	if err := g.replicate(ctx, now); err != nil && !errors.Is(err, errUnreachable) {
		return err
	}
	return nil
}

// replicate copies the security system into the gateway's replica now.
func (g *Gateway) replicate(ctx context.Context, now time.Time) error {
	g.stateMu.Lock()
	g.lastReplAttempt = now
	g.stateMu.Unlock()
	if !g.securityReachable() {
		g.metrics.replications.WithLabelValues("unreachable").Inc()
		g.log.Warn("replication failed: security system unreachable; serving from the last replica",
			"last_replication", g.lastReplication())
		return errUnreachable
	}
	g.stateMu.Lock()
	dirty := g.sourceDirty
	g.stateMu.Unlock()
	if dirty {
		// Only a change in the source (roles set through the control API) can make the
		// replica differ; an unchanged source is replicated without touching the database.
		if err := g.store.Replicate(ctx); err != nil {
			g.metrics.replications.WithLabelValues("error").Inc()
			return err
		}
		if err := g.store.SetMetaTime(ctx, metaLastReplication, now); err != nil {
			return err
		}
		if err := g.loadRoles(ctx); err != nil {
			return err
		}
	}
	g.stateMu.Lock()
	g.lastRepl = now
	g.sourceDirty = g.sourceDirty && !dirty
	g.stateMu.Unlock()
	g.metrics.replications.WithLabelValues("ok").Inc()
	return nil
}

// markSourceChanged records that the security system's data changed since the last replication.
func (g *Gateway) markSourceChanged() {
	g.stateMu.Lock()
	g.sourceDirty = true
	g.stateMu.Unlock()
}

// ReplicateNow replicates at once (control API).
func (g *Gateway) ReplicateNow(ctx context.Context) error {
	g.tickMu.Lock()
	defer g.tickMu.Unlock()
	return g.replicate(ctx, g.clock.Now())
}
