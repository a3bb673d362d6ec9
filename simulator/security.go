package simulator

import (
	"context"
	"errors"
	"strconv"
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
	interval := g.cfg.Security.ReplicationInterval.Std()
	if g.replFailures > 0 {
		// A failed replication is retried with back-off, at most one interval later.
		b := g.cfg.Backend.RetryMin.Std()
		for i := 1; i < g.replFailures && b < interval; i++ {
			b *= 2
		}
		interval = min(b, interval)
	}
	return g.lastReplAttempt.Add(interval)
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
	if g.remoteSec != nil {
		return g.replicateRemote(ctx, now)
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

// replicateRemote copies the registrations of `ftpsgw security` into the replica when its
// version changed. A failed request leaves the replica as it was and is retried with back-off.
func (g *Gateway) replicateRemote(ctx context.Context, now time.Time) error {
	snap, err := g.remoteSnapshot(ctx)
	if err != nil {
		g.stateMu.Lock()
		g.replFailures++
		n := g.replFailures
		g.stateMu.Unlock()
		g.metrics.replications.WithLabelValues("unreachable").Inc()
		g.metrics.linkErrors.WithLabelValues("security").Inc()
		g.log.Warn("replication failed; serving from the last replica", "err", err, "failures", n,
			"last_replication", g.lastReplication(), "next_try", g.nextReplication())
		return err
	}
	have, _, err := g.store.Meta(ctx, metaReplicaVersion)
	if err != nil {
		return err
	}
	if have != strconv.FormatInt(snap.Version, 10) {
		if err := g.store.ReplaceReplica(ctx, snap); err != nil {
			g.metrics.replications.WithLabelValues("error").Inc()
			return err
		}
		if err := g.loadRoles(ctx); err != nil {
			return err
		}
	}
	if err := g.store.SetMetaTime(ctx, metaLastReplication, now); err != nil {
		return err
	}
	g.stateMu.Lock()
	if g.replFailures > 0 {
		g.log.Info("security system reachable again", "after_failures", g.replFailures)
	}
	g.lastRepl, g.replFailures = now, 0
	g.stateMu.Unlock()
	g.metrics.replications.WithLabelValues("ok").Inc()
	return nil
}
