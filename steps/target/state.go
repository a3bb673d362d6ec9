package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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
}

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
}

func (c commandState) Describe() string { return "state adapter " + c.st.Command }
func (c commandState) Virtual() bool    { return c.st.Clock == "virtual" }
func (c commandState) Reporting(note func(string, ...any)) State {
	c.notify = note
	return c
}

func (c commandState) run(ctx context.Context, args ...string) error {
	env := os.Environ()
	for k, v := range c.st.Env {
		env = append(env, k+"="+v)
	}
	res, err := RunCommand(ctx, c.st.Command, args, env, time.Duration(c.st.Timeout))
	if err != nil {
		return fmt.Errorf("state adapter %q: %w", c.st.Command, err)
	}
	if c.notify != nil {
		c.notify("state adapter %s -> exit %d\n%s", strings.Join(args, " "), res.Code, res.Output)
	}
	switch {
	case res.Code == 0:
		return nil
	case res.Code == ExitUnsupported:
		return fmt.Errorf("%w: the state adapter does not support %q (exit 127)", ErrStateUnsupported, strings.Join(args, " "))
	case res.TimedOut:
		return fmt.Errorf("state adapter %s: stopped after %s: %s", strings.Join(args, " "), time.Duration(c.st.Timeout), LastLine(res.Output))
	}
	return fmt.Errorf("state adapter %s: exit %d: %s", strings.Join(args, " "), res.Code, LastLine(res.Output))
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
