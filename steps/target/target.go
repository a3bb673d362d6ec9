package target

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Target is a profile opened for a run: its control API client (when it has one), how it is
// put into states, and its clock.
type Target struct {
	Profile *Profile
	// API is the simulator's control API, nil for a target without one.
	API *control.Client
	// State puts the target into states (the control API or a state adapter); nil when the
	// profile gives neither.
	State State
	// Virtual: the target's clock moves only when advanced.
	Virtual bool
}

// Open prepares a profile for a run; it asks the control API (if any) for its clock.
func Open(ctx context.Context, p *Profile) (*Target, error) {
	t := &Target{Profile: p}
	if p.Control != nil {
		t.API = control.NewClient(p.Control.URL, p.Control.Token)
		t.API.Timeout = time.Duration(p.Timeouts.Operation)
		clock, err := t.API.Clock(ctx)
		if err != nil {
			return nil, fmt.Errorf("control API %s: %w", p.Control.URL, err)
		}
		t.Virtual = clock.Mode == "virtual"
		t.State = controlState{api: t.API, virtual: t.Virtual}
	}
	if p.State != nil {
		t.State = commandState{st: *p.State, lease: &leaseHolder{}}
		t.Virtual = p.State.Clock == "virtual"
	}
	return t, nil
}

// Adapter runs the vendor's client under test. The contract (README): the harness runs
//
//	CMD upload FILE FOLDER   upload the local FILE under its own name into the gateway folder FOLDER
//	CMD receipts DIR         download the receipts now in /out into the local DIR
//
// with the connection in FTPSGW_HOST, FTPSGW_PORT, FTPSGW_CA, FTPSGW_CERT, FTPSGW_KEY,
// FTPSGW_KEY_TYPE (rsa-pss, rsa or ecdsa), FTPSGW_P12, FTPSGW_P12_PASSWORD, FTPSGW_USERNAME,
// FTPSGW_PASSWORD, plus FTPSGW_STATE_DIR (a
// folder the client may keep state in for the scenario) and FTPSGW_FORMAT ("fixed-record" for
// files that must go up in ASCII mode, else "binary"). Exit 0 = done, 127 = this action is
// unsupported, anything else = the client reports failure.
type Adapter struct {
	Command  string // run with sh -c, the action and its arguments appended
	Identity string // profile identity the client is given (default moces)
	Timeout  time.Duration
}

// ExitUnsupported is an adapter's exit code for an action it does not support.
const ExitUnsupported = 127

// LastLine is the last non-empty line of an adapter's output (usually its error).
func LastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
