package simulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// Backend is SKAT's backend systems as the receipt pipeline reaches them: embeddedBackend
// answers by the rules in the gateway's own settings; httpBackend reaches `ftpsgw backend`
// (Config backend.url), where a request that fails, times out or gets a 5xx is a failure of
// the link (linkError): deliveries then wait with back-off, never a status_0.
type Backend interface {
	// HandOver delivers a queued file and returns how long the backend takes to process it.
	HandOver(ctx context.Context, d store.Delivery) (time.Duration, error)
	// Answer returns the backend's verdict on a delivered file; errRedelivered when the
	// backend had lost the file and was given it again (ask later).
	Answer(ctx context.Context, d store.Delivery) (verdict, error)
	// Rules returns the service rules in force.
	Rules(ctx context.Context) (control.BackendRules, error)
	// SetRules changes service rules (already validated).
	SetRules(ctx context.Context, rules control.BackendRules) error
	// Reset returns the backend to its initial rules and forgets what it received.
	Reset(ctx context.Context) error
	// Linked reports whether the backend sits behind a link that can fail.
	Linked() bool
}

// verdict is the backend's answer to one delivered file.
type verdict struct {
	rerr        *receipt.Error
	reply       bool
	exposeDelay time.Duration
}

// errRedelivered: the backend had lost the file and was given it again; ask later.
var errRedelivered = errors.New("the backend did not know the file; delivered it again")

// linkError marks a failure of the link to the remote backend.
type linkError struct{ err error }

func (e linkError) Error() string { return "backend link: " + e.err.Error() }
func (e linkError) Unwrap() error { return e.err }

// embeddedBackend simulates the backend inside the gateway, by the rules of the gateway's
// backend settings (config backend.services, PUT /control/v1/backend).
type embeddedBackend struct{ p *receiptPipeline }

func (b embeddedBackend) HandOver(_ context.Context, d store.Delivery) (time.Duration, error) {
	return b.p.link.settings().Rule(d.Service).Delay.Std(), nil
}

func (b embeddedBackend) Answer(_ context.Context, d store.Delivery) (verdict, error) {
	rule := b.p.link.settings().Rule(d.Service).effective()
	return verdict{rerr: b.p.evaluate(d, rule), reply: rule.Reply, exposeDelay: rule.ExposeDelay.Std()}, nil
}

func (b embeddedBackend) Rules(context.Context) (control.BackendRules, error) {
	api := backendToAPI(b.p.link.settings(), true)
	return control.BackendRules{Default: api.Default, Services: api.Services}, nil
}

// SetRules has nothing to forward: the gateway's settings are this backend's rules.
func (embeddedBackend) SetRules(context.Context, control.BackendRules) error { return nil }

// Reset has nothing to do: the gateway's reset restores its settings.
func (embeddedBackend) Reset(context.Context) error { return nil }

func (embeddedBackend) Linked() bool { return false }

// httpBackend is `ftpsgw backend`, reached over HTTP.
type httpBackend struct {
	p *receiptPipeline
	c *control.BackendClient
}

func (b httpBackend) Linked() bool { return true }

func (b httpBackend) HandOver(ctx context.Context, d store.Delivery) (time.Duration, error) {
	f, err := b.p.openSubmission(d.Submission)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := b.c.Deliver(ctx, control.BackendDelivery{SkatID: d.SkatID, Username: d.Username, Service: d.Service,
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

func (b httpBackend) Answer(ctx context.Context, d store.Delivery) (verdict, error) {
	rd, err := b.c.Delivery(ctx, d.SkatID)
	if control.StatusOf(err) == http.StatusNotFound {
		// The backend lost the file (its state was wiped): deliver it again, no new receipt.
		if _, err := b.HandOver(ctx, d); err != nil {
			return verdict{}, err
		}
		return verdict{}, errRedelivered
	}
	if err != nil {
		return verdict{}, linkError{err}
	}
	v := verdict{reply: rd.Verdict.Reply}
	if !rd.Verdict.Accepted {
		e := receipt.Error{Code: "Internal server error", Message: "The backend rejected the file without a reason.", Resolution: "Contact SKAT."}
		if rd.Verdict.Error != nil {
			e = receipt.Error{Code: rd.Verdict.Error.Code, Message: rd.Verdict.Error.Message, Resolution: rd.Verdict.Error.Resolution}
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

func (b httpBackend) Rules(ctx context.Context) (control.BackendRules, error) {
	var rules control.BackendRules
	err := b.call(func() (err error) { rules, err = b.c.Rules(ctx); return err })
	return rules, err
}

func (b httpBackend) SetRules(ctx context.Context, rules control.BackendRules) error {
	return b.call(func() error { _, err := b.c.SetRules(ctx, rules); return err })
}

func (b httpBackend) Reset(ctx context.Context) error {
	return b.call(func() error { return b.c.Reset(ctx) })
}

// call maps a failed control request: the backend's 4xx is the caller's mistake (400),
// anything else means it did not answer (503).
func (b httpBackend) call(fn func() error) error {
	if err := fn(); err != nil {
		if s := control.StatusOf(err); s >= 400 && s < 500 {
			return badRequest("backend: %v", err)
		}
		return fmt.Errorf("%w (backend at %s): %v", errRemote, b.c.URL(), err)
	}
	return nil
}

// backendLink is the gateway's side of the link to the backend: the settings the control
// API changes (up or down, scheduled outages, delays, the embedded backend's rules) and a
// remote backend's failures and back-off. It owns its lock.
type backendLink struct {
	mu    sync.Mutex
	s     BackendSettings
	state linkState
}

// linkState is the remote backend link as the gateway sees it.
type linkState struct {
	failures int
	retryAt  time.Time
	lastErr  string
}

// settings returns a copy of the backend settings.
func (l *backendLink) settings() BackendSettings {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.s
	b.Services = make(map[string]ServiceRule, len(l.s.Services))
	for k, v := range l.s.Services {
		b.Services[k] = v
	}
	return b
}

func (l *backendLink) set(next BackendSettings) {
	l.mu.Lock()
	l.s = next
	l.mu.Unlock()
}

// restore puts back what the control API changed before a restart.
func (l *backendLink) restore(st backendState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Up, l.s.Default, l.s.Services = st.Up, st.Default, st.Services
	if l.s.Services == nil {
		l.s.Services = map[string]ServiceRule{}
	}
}

// up reports whether the link is up at t (manual switch and scheduled outages).
func (l *backendLink) up(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.s.Up {
		return false
	}
	for _, o := range l.s.Outages {
		if !t.Before(o.From) && t.Before(o.To) {
			return false
		}
	}
	return true
}

// retryAt is until when the link is in back-off after failures.
func (l *backendLink) retryAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.retryAt
}

// failed counts a failed request and returns the failures in a row.
func (l *backendLink) failed(err error) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.failures++
	l.state.lastErr = err.Error()
	return l.state.failures
}

func (l *backendLink) waitUntil(t time.Time) {
	l.mu.Lock()
	l.state.retryAt = t
	l.mu.Unlock()
}

// ok records a successful request and returns the failures it ends.
func (l *backendLink) ok() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.state.failures
	l.state = linkState{}
	return n
}

// reset forgets failures (the link is tried at once) and, with settings, restores them.
func (l *backendLink) reset(settings *BackendSettings) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = linkState{}
	if settings != nil {
		l.s = *settings
	}
}

// linkWaiting reports until when the remote link is in back-off.
func (p *receiptPipeline) linkWaiting(now time.Time) (time.Time, bool) {
	t := p.link.retryAt()
	return t, p.backend.Linked() && now.Before(t)
}

// linkFailed records a failed request and postpones d to the link's next try. Every
// delivery due meanwhile waits for the same time, so they leave in their original order.
func (p *receiptPipeline) linkFailed(b *batch, d store.Delivery, now time.Time, err error) error {
	n := p.link.failed(err)
	retryAt := now.Add(p.backoff(n))
	p.link.waitUntil(retryAt)
	p.metrics.linkErrors.WithLabelValues("backend").Inc()
	p.log.Warn("backend unreachable; deliveries wait", "err", err, "failures", n, "retry_at", retryAt)
	return b.postpone(d.ID, retryAt, d.Attempts+1)
}

// linkOK records a successful request.
func (p *receiptPipeline) linkOK() {
	if n := p.link.ok(); n > 0 {
		p.log.Info("backend reachable again", "after_failures", n)
	}
}

// backendUp reports whether the backend link is up at t.
func (p *receiptPipeline) backendUp(t time.Time) bool { return p.link.up(t) }

// backendSettings returns a copy of the backend settings.
func (p *receiptPipeline) backendSettings() BackendSettings { return p.link.settings() }
