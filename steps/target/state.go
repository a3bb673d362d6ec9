package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// State puts a target into the states the @needs-control scenarios need: through the
// simulator's control API (controlState), or through a state adapter command that the
// profile names for any other gateway (commandState). An action the target cannot do gives
// ErrStateUnsupported: the scenario is then UNSUPPORTED.
type State interface {
	Reset(ctx context.Context) error
	SetBackendUp(ctx context.Context, up bool) error
	SetSecurityReachable(ctx context.Context, reachable bool) error
	Unregister(ctx context.Context, username string) error
	SetRoles(ctx context.Context, username string, roles []string) error
	Replicate(ctx context.Context) error
	// Advance moves the target's clock (virtual clocks only).
	Advance(ctx context.Context, d time.Duration) error
	// RejectFiles makes the backend reject a service's files with an error code;
	// ReplyFiles makes it answer them with a reply file (receipt 3).
	RejectFiles(ctx context.Context, service, code string) error
	ReplyFiles(ctx context.Context, service string) error
	// CheckFixedRecords makes the backend check a service's files as fixed-record files of
	// records of length characters, sent in ASCII mode (start record 0001, end record 9998
	// with the record count).
	CheckFixedRecords(ctx context.Context, service string, length int) error
	// ListFiles makes the backend answer a service's files with an error list and an advice
	// list, each with its receipt 3.
	ListFiles(ctx context.Context, service string) error
	// Virtual reports whether the target's clock moves only when advanced.
	Virtual() bool
	// Describe names the state's source for messages.
	Describe() string
	// Reporting returns the same State telling note what it did (a state adapter's output
	// is the evidence of the scenario that ran it).
	Reporting(note func(format string, a ...any)) State
	// Lease takes (or renews) the target for one certification run for ttl, so that no other
	// run changes it meanwhile: ErrNoLease when the target has no such thing, an error
	// wrapping ErrBusy when another holds it. Every action after it goes as the holder.
	Lease(ctx context.Context, holder string, ttl time.Duration) error
	// Release gives the target back.
	Release(ctx context.Context, holder string) error
}

// ErrNoLease: the target cannot be taken for a run (it has no lease): runs go on without one.
var ErrNoLease = errors.New("the target has no lease")

// ErrBusy: another run holds the target.
var ErrBusy = errors.New("target busy")

// ErrStateUnsupported wraps the reason a target cannot be put into a state.
var ErrStateUnsupported = errors.New("the target cannot be put into this state")

// controlState is the simulator's control API.
type controlState struct {
	api     *control.Client
	virtual bool
}

func (c controlState) Describe() string                     { return "control API " + c.api.BaseURL }
func (c controlState) Virtual() bool                        { return c.virtual }
func (c controlState) Reporting(func(string, ...any)) State { return c }

func (c controlState) Lease(ctx context.Context, holder string, ttl time.Duration) error {
	_, err := c.api.AcquireLease(ctx, holder, ttl)
	var ae *control.APIError
	switch {
	case err == nil:
		if c.api.Lease != holder { // set once, before the run's requests (a renewal only reads it)
			c.api.Lease = holder // every request of this run goes as the holder
		}
		return nil
	case control.StatusOf(err) == 404:
		return ErrNoLease // a control API without leases (an older simulator)
	case errors.As(err, &ae) && ae.Status == 409:
		return fmt.Errorf("%w: %s", ErrBusy, strings.TrimPrefix(ae.Message, "target busy: "))
	}
	return err
}

func (c controlState) Release(ctx context.Context, holder string) error {
	c.api.Lease = ""
	return c.api.ReleaseLease(ctx, holder)
}
func (c controlState) Reset(ctx context.Context) error {
	return c.api.Reset(ctx)
}
func (c controlState) SetBackendUp(ctx context.Context, up bool) error {
	return c.api.SetBackendUp(ctx, up)
}
func (c controlState) SetSecurityReachable(ctx context.Context, reachable bool) error {
	return c.api.SetSecurityReachable(ctx, reachable)
}
func (c controlState) Unregister(ctx context.Context, username string) error {
	return c.api.Unregister(ctx, username)
}
func (c controlState) SetRoles(ctx context.Context, username string, roles []string) error {
	return c.api.SetRoles(ctx, username, roles)
}
func (c controlState) Replicate(ctx context.Context) error { return c.api.Replicate(ctx) }

func (c controlState) Advance(ctx context.Context, d time.Duration) error {
	_, err := c.api.Advance(ctx, d)
	if control.StatusOf(err) == 409 {
		return fmt.Errorf("%w: the target's clock is real; this scenario needs a virtual clock (ftpsgw serve --clock virtual)", ErrStateUnsupported)
	}
	return err
}

func (c controlState) RejectFiles(ctx context.Context, service, code string) error {
	return c.setService(ctx, service, control.ServiceRule{Action: "reject", ErrorCode: code, ErrorMessage: "rejected by the conformance suite", Delay: "1s"})
}

func (c controlState) ReplyFiles(ctx context.Context, service string) error {
	return c.setService(ctx, service, control.ServiceRule{Action: "accept", Delay: "1s", Reply: true, ExposeDelay: "1s"})
}

func (c controlState) CheckFixedRecords(ctx context.Context, service string, length int) error {
	return c.setService(ctx, service, control.ServiceRule{Action: "accept", Delay: "1s", RequireASCII: true, RecordLength: length, FixedRecord: true})
}

func (c controlState) ListFiles(ctx context.Context, service string) error {
	return c.setService(ctx, service, control.ServiceRule{Action: "accept", Delay: "1s", Lists: "errors+advice", ExposeDelay: "1s"})
}

func (c controlState) setService(ctx context.Context, service string, rule control.ServiceRule) error {
	_, err := c.api.SetBackend(ctx, control.Backend{Services: map[string]control.ServiceRule{service: rule}})
	return err
}

// commandState is a state adapter: the harness runs
//
//	COMMAND ACTION [ARGS...]
//
// with ACTION one of: reset; backend down|up; security down|up; unregister USERNAME;
// roles USERNAME [ROLE...]; replicate; advance DURATION (Go syntax: 90s, 7h, 720h);
// backend-reject SERVICE CODE; backend-reply SERVICE; backend-fixed-record SERVICE LENGTH;
// backend-lists SERVICE. Exit 0: done. Exit 127: the target
// cannot do this (the scenario is UNSUPPORTED). Anything else: the action failed, and its
// output is the evidence. The environment holds the profile's state.env.
type commandState struct {
	st     ProfileState
	notify func(format string, a ...any) // evidence of the scenario running it
	lease  *leaseHolder                  // the run's lease, given to every action as FTPSGW_LEASE
}

// leaseHolder is the lease a run holds through a state adapter, shared by the copies of the
// commandState the scenarios get.
type leaseHolder struct {
	mu     sync.Mutex
	holder string
}

func (l *leaseHolder) set(h string) {
	l.mu.Lock()
	l.holder = h
	l.mu.Unlock()
}

func (l *leaseHolder) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder
}

func (c commandState) Describe() string { return "state adapter " + c.st.Command }
func (c commandState) Virtual() bool    { return c.st.Clock == "virtual" }
func (c commandState) Reporting(note func(string, ...any)) State {
	c.notify = note
	return c
}

func (c commandState) run(ctx context.Context, args ...string) error {
	_, err := c.runCode(ctx, args...)
	return err
}

// runCode runs one action and gives its exit code too (-1: it could not start).
func (c commandState) runCode(ctx context.Context, args ...string) (int, error) {
	env := os.Environ()
	for k, v := range c.st.Env {
		env = append(env, k+"="+v)
	}
	if c.lease != nil {
		if h := c.lease.get(); h != "" {
			env = append(env, "FTPSGW_LEASE="+h)
		}
	}
	res, err := RunCommand(ctx, c.st.Command, args, env, time.Duration(c.st.Timeout))
	if err != nil {
		return -1, fmt.Errorf("state adapter %q: %w", c.st.Command, err)
	}
	if c.notify != nil {
		c.notify("state adapter %s -> exit %d\n%s", strings.Join(args, " "), res.Code, res.Output)
	}
	switch {
	case res.Code == 0:
		return 0, nil
	case res.Code == ExitUnsupported:
		return res.Code, fmt.Errorf("%w: the state adapter does not support %q (exit 127)", ErrStateUnsupported, strings.Join(args, " "))
	case res.TimedOut:
		return res.Code, fmt.Errorf("state adapter %s: stopped after %s: %s", strings.Join(args, " "), time.Duration(c.st.Timeout), LastLine(res.Output))
	}
	return res.Code, fmt.Errorf("state adapter %s: exit %d: %s", strings.Join(args, " "), res.Code, LastLine(res.Output))
}

// Lease runs `lease HOLDER TTL`: exit 0 taken (or renewed), 127 the target has no lease, any
// other exit: another run holds it (the adapter's last line says who).
func (c commandState) Lease(ctx context.Context, holder string, ttl time.Duration) error {
	code, err := c.runCode(ctx, "lease", holder, ttl.String())
	switch {
	case err == nil:
		c.lease.set(holder)
		return nil
	case code == ExitUnsupported:
		return ErrNoLease
	case code > 0:
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	return err
}

// Release runs `release HOLDER`.
func (c commandState) Release(ctx context.Context, holder string) error {
	c.lease.set("")
	if _, err := c.runCode(ctx, "release", holder); err != nil && !errors.Is(err, ErrStateUnsupported) {
		return err
	}
	return nil
}

func (c commandState) Reset(ctx context.Context) error { return c.run(ctx, "reset") }
func (c commandState) SetBackendUp(ctx context.Context, up bool) error {
	return c.run(ctx, "backend", map[bool]string{true: "up", false: "down"}[up])
}
func (c commandState) SetSecurityReachable(ctx context.Context, reachable bool) error {
	return c.run(ctx, "security", map[bool]string{true: "up", false: "down"}[reachable])
}
func (c commandState) Unregister(ctx context.Context, username string) error {
	return c.run(ctx, "unregister", username)
}
func (c commandState) SetRoles(ctx context.Context, username string, roles []string) error {
	return c.run(ctx, append([]string{"roles", username}, roles...)...)
}
func (c commandState) Replicate(ctx context.Context) error { return c.run(ctx, "replicate") }
func (c commandState) Advance(ctx context.Context, d time.Duration) error {
	if !c.Virtual() {
		return fmt.Errorf("%w: the profile's state.clock is real; this scenario needs a virtual clock", ErrStateUnsupported)
	}
	return c.run(ctx, "advance", d.String())
}
func (c commandState) RejectFiles(ctx context.Context, service, code string) error {
	return c.run(ctx, "backend-reject", service, code)
}
func (c commandState) ReplyFiles(ctx context.Context, service string) error {
	return c.run(ctx, "backend-reply", service)
}
func (c commandState) CheckFixedRecords(ctx context.Context, service string, length int) error {
	return c.run(ctx, "backend-fixed-record", service, strconv.Itoa(length))
}
func (c commandState) ListFiles(ctx context.Context, service string) error {
	return c.run(ctx, "backend-lists", service)
}
