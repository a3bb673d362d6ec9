package simulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// The gateway's side of the links to `ftpsgw backend` and `ftpsgw security`. A request
// that fails, times out or gets a 5xx counts as the link being down: deliveries wait with
// back-off (never a status_0), logins go on from the last replica.

// verdict is the backend's answer to one delivered file, from either backend.
type verdict struct {
	rerr        *ReceiptError
	reply       bool
	exposeDelay time.Duration
}

// linkState is the remote backend link as the gateway sees it.
type linkState struct {
	failures int
	retryAt  time.Time
	lastErr  string
}

// handOver delivers a queued file to the backend and returns the processing delay.
func (g *Gateway) handOver(ctx context.Context, d Delivery) (time.Duration, error) {
	if g.remoteBackend == nil {
		return g.backendSettings().Rule(d.Service).Delay.Std(), nil
	}
	f, err := g.openSubmission(d.Submission)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := g.remoteBackend.Deliver(ctx, control.BackendDelivery{SkatID: d.SkatID, Username: d.Username, Service: d.Service,
		Name: d.Name, Size: d.Size, SHA256: d.SHA256, ASCII: d.ASCII}, f)
	if err != nil {
		return 0, linkError{err}
	}
	delay, err := time.ParseDuration(v.Delay)
	if err != nil || delay < 0 {
		return 0, linkError{fmt.Errorf("the backend answered a bad delay %q", v.Delay)}
	}
	return delay, nil
}

// errRedelivered: the backend had lost the file and was given it again; ask later.
var errRedelivered = errors.New("the backend did not know the file; delivered it again")

// answer asks the backend for its verdict on a delivered file.
func (g *Gateway) answer(ctx context.Context, d Delivery) (verdict, error) {
	if g.remoteBackend == nil {
		rule := g.backendSettings().Rule(d.Service)
		return verdict{rerr: g.evaluate(d, rule), reply: rule.Reply, exposeDelay: rule.ExposeDelay.Std()}, nil
	}
	rd, err := g.remoteBackend.Delivery(ctx, d.SkatID)
	if control.StatusOf(err) == http.StatusNotFound {
		// The backend lost the file (its state was wiped): deliver it again, no new receipt.
		if _, err := g.handOver(ctx, d); err != nil {
			return verdict{}, err
		}
		return verdict{}, errRedelivered
	}
	if err != nil {
		return verdict{}, linkError{err}
	}
	v := verdict{reply: rd.Verdict.Reply}
	if !rd.Verdict.Accepted {
		e := ReceiptError{Code: "Internal server error", Message: "The backend rejected the file without a reason.", Resolution: "Contact SKAT."}
		if rd.Verdict.Error != nil {
			e = ReceiptError{Code: rd.Verdict.Error.Code, Message: rd.Verdict.Error.Message, Resolution: rd.Verdict.Error.Resolution}
		}
		v.rerr = &e
	}
	if rd.Verdict.ExposeDelay != "" {
		if v.exposeDelay, err = time.ParseDuration(rd.Verdict.ExposeDelay); err != nil {
			return verdict{}, linkError{fmt.Errorf("the backend answered a bad expose_delay %q", rd.Verdict.ExposeDelay)}
		}
	}
	return v, nil
}

// linkError marks a failure of the link to the remote backend.
type linkError struct{ err error }

func (e linkError) Error() string { return "backend link: " + e.err.Error() }
func (e linkError) Unwrap() error { return e.err }

// linkWaiting reports until when the remote link is in back-off.
func (g *Gateway) linkWaiting(now time.Time) (time.Time, bool) {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	return g.link.retryAt, g.remoteBackend != nil && now.Before(g.link.retryAt)
}

// linkFailed records a failed request and postpones d to the link's next try. Every
// delivery due meanwhile waits for the same time, so they leave in their original order.
func (g *Gateway) linkFailed(ctx context.Context, d Delivery, now time.Time, err error) error {
	g.stateMu.Lock()
	g.link.failures++
	n := g.link.failures
	g.link.lastErr = err.Error()
	g.stateMu.Unlock()
	retryAt := now.Add(g.backoff(n))
	g.stateMu.Lock()
	g.link.retryAt = retryAt
	g.stateMu.Unlock()
	g.metrics.linkErrors.WithLabelValues("backend").Inc()
	g.log.Warn("backend unreachable; deliveries wait", "err", err, "failures", n, "retry_at", retryAt)
	return g.store.Postpone(ctx, d.ID, retryAt, d.Attempts+1)
}

// linkOK records a successful request.
func (g *Gateway) linkOK() {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	if g.link.failures > 0 {
		g.log.Info("backend reachable again", "after_failures", g.link.failures)
	}
	g.link = linkState{}
}

// remoteSnapshot fetches the remote security system's registrations; any failure counts
// as unreachable.
func (g *Gateway) remoteSnapshot(ctx context.Context) (control.SecuritySnapshot, error) {
	snap, err := g.remoteSec.Snapshot(ctx)
	if err != nil {
		return snap, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	return snap, nil
}

// remoteSecurity forwards a change of the security system to the remote one.
func (g *Gateway) remoteSecurity(fn func(*control.SecurityClient) error) error {
	if g.remoteSec == nil {
		return nil
	}
	if err := fn(g.remoteSec); err != nil {
		if s := control.StatusOf(err); s == http.StatusNotFound {
			return ErrNotRegistered
		} else if s >= 400 && s < 500 {
			return badRequest("security system: %v", err)
		}
		return fmt.Errorf("%w (security system at %s): %v", errRemote, g.remoteSec.URL(), err)
	}
	return nil
}

// remoteBackendCall forwards a change of the backend's rules or a reset.
func (g *Gateway) remoteBackendCall(fn func(*control.BackendClient) error) error {
	if g.remoteBackend == nil {
		return nil
	}
	if err := fn(g.remoteBackend); err != nil {
		if s := control.StatusOf(err); s >= 400 && s < 500 {
			return badRequest("backend: %v", err)
		}
		return fmt.Errorf("%w (backend at %s): %v", errRemote, g.remoteBackend.URL(), err)
	}
	return nil
}
