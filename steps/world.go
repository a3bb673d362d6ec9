package steps

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// errUnsupported marks a scenario the target cannot run; the runner reports it UNSUPPORTED.
var errUnsupported = godog.ErrSkip

// World is what the areas of one scenario share: its sessions, its last connection attempt,
// its uploads and their receipts, and the evidence for the report. Steps of one area are
// methods of a small registrar that embeds the World and holds what only that area uses
// (authSteps the last login, networkSteps the last raw command, clientSteps the client's
// folders, …); a team's own steps reach the World through Suite.Register's result or
// WorldFrom(ctx).
type World struct {
	suite *Suite
	ctx   context.Context

	clients map[string]*ftpsclient.Client // logged-in sessions by identity name
	raw     *ftpsclient.Raw
	rawWho  string

	// last connection attempt
	tlsErr   error
	tlsState string

	// last upload(s), which the upload, receipt, TLS and client areas all judge
	upload   uploadResult
	files    []upFile
	receipts map[int]string // code -> content, for files[last]

	unsupported string
	evidence    []string
	mu          sync.Mutex
}

// newWorld is the one constructor of a scenario's World (gateway and client suites alike).
func newWorld(s *Suite) *World {
	return &World{suite: s, ctx: context.Background(), clients: map[string]*ftpsclient.Client{},
		receipts: map[int]string{}}
}

// begin starts the scenario: the World goes into its context.
func (w *World) begin(ctx context.Context) context.Context {
	w.ctx = context.WithValue(ctx, worldKey{}, w)
	return w.ctx
}

// Unsupported says why the target could not run the scenario ("" when it could).
func (w *World) Unsupported() string { return w.unsupported }

// Evidence is what the scenario saw, line by line, for the report.
func (w *World) Evidence() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string{}, w.evidence...)
}

// Context is the scenario's context (cancelled when the run is).
func (w *World) Context() context.Context { return w.ctx }

// Profile is the target being certified.
func (w *World) Profile() *Profile { return w.suite.profile }

// Control is the target's control API client, or an error that makes the scenario
// UNSUPPORTED when the target has none.
func (w *World) Control() (*control.Client, error) { return w.api() }

// Identity returns a profile identity (username, password, folders), or an error that makes
// the scenario UNSUPPORTED when the profile lacks it.
func (w *World) Identity(name string) (target.ProfileIdentity, error) {
	_, id, err := w.options(name)
	return id, err
}

// ClientOptions are the FTPS connection options of a profile identity (address, mode, its
// certificate, the CA to trust), for a team's own client.
func (w *World) ClientOptions(name string) (ftpsclient.Options, error) {
	opts, _, err := w.options(name)
	return opts, err
}

// Login returns a logged-in session of ftpsgw's own client for an identity, reused within
// the scenario.
func (w *World) Login(name string) (*ftpsclient.Client, error) { return w.login(name) }

// NewName returns a file name no earlier run has used (letters, digits, underscore), with an
// optional prefix such as "val_".
func (w *World) NewName(prefix string) string { return w.newName(prefix) }

// Uploaded records an upload made by a team's own client, so ftpsgw's steps about "it"
// (receipts, rejections, /out) apply to it. err is the upload's outcome (nil: 226).
func (w *World) Uploaded(who, service, name string, err error) error {
	if _, _, oerr := w.options(who); oerr != nil {
		return oerr
	}
	w.upload = uploadResult{err: err, code: ftpsclient.Code(err)}
	w.files = append(w.files, upFile{who: who, service: service, name: name, err: err})
	w.receipts = map[int]string{}
	w.note("upload of /%s/%s as %s by the caller's own client: %v", service, name, who, errOr226(err))
	return nil
}

// Note adds a line of evidence to the scenario's report.
func (w *World) Note(format string, a ...any) { w.note(format, a...) }

func errOr226(err error) any {
	if err == nil {
		return "226"
	}
	return err
}

type upFile struct {
	who, service, name string
	err                error
	// stale are the receipts an earlier upload of the same name got in this scenario: a
	// status file keeps its name (status_<service>_<name>_0.xml), so until the new one
	// replaces it, /out still shows the old one.
	stale map[int]string
}

// deleteResult is the last DELE in /out.
type deleteResult struct {
	done bool
	path string
	err  error
}

type uploadResult struct {
	err  error
	code int // reply code of a refusal (0 if none)
}

// note records evidence for the report.
func (w *World) note(format string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	line := fmt.Sprintf(format, a...)
	if len(line) > 600 {
		line = line[:600] + "…"
	}
	w.evidence = append(w.evidence, line)
}

// noteOutput records a command's output as evidence whole: the command runner already kept
// it bounded to its first and last 8 KiB, and the tail is usually the error.
func (w *World) noteOutput(format string, a ...any) { w.noteBlock(fmt.Sprintf(format, a...)) }

// noteBlock records a multi-line piece of evidence whole (the caller bounds it).
func (w *World) noteBlock(text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.evidence = append(w.evidence, text)
}

// unsupportedf ends the scenario as UNSUPPORTED.
func (w *World) unsupportedf(format string, a ...any) error {
	w.unsupported = fmt.Sprintf(format, a...)
	return errUnsupported
}

// expected builds the failure message of a step: what was expected and what was seen.
func expected(what string, seenFormat string, a ...any) error {
	return fmt.Errorf("expected %s; saw %s", what, fmt.Sprintf(seenFormat, a...))
}

func (w *World) options(name string) (ftpsclient.Options, target.ProfileIdentity, error) {
	opts, id, ok := w.suite.profile.ClientOptions(name)
	if !ok {
		return opts, id, w.unsupportedf("the target profile has no identity %q", name)
	}
	return opts, id, nil
}

// login returns a logged-in session for an identity, reusing one from this scenario.
func (w *World) login(name string) (*ftpsclient.Client, error) {
	if c, ok := w.clients[name]; ok {
		return c, nil
	}
	opts, id, err := w.options(name)
	if err != nil {
		return nil, err
	}
	c, err := ftpsclient.Dial(w.ctx, opts)
	if err != nil {
		return nil, blockedBy(loginRequirement(id), fmt.Errorf("connecting as %s: %w", name, err))
	}
	if err := c.Login(id.Username, id.Password); err != nil {
		c.Close()
		return nil, blockedBy(loginRequirement(id), fmt.Errorf("logging in as %s (%s): %w", name, id.Username, err))
	}
	w.clients[name] = c
	return c, nil
}

// fresh drops a cached session (roles may have changed; a new login sees the current view).
func (w *World) fresh(name string) (*ftpsclient.Client, error) {
	if c, ok := w.clients[name]; ok {
		c.Close()
		delete(w.clients, name)
	}
	return w.login(name)
}

// rawLogin opens a raw session: AUTH TLS (explicit), USER, PASS, PBSZ 0, PROT P.
func (w *World) rawLogin(name string) (*ftpsclient.Raw, error) {
	opts, id, err := w.options(name)
	if err != nil {
		return nil, err
	}
	r, err := ftpsclient.DialRaw(w.ctx, opts)
	if err != nil {
		return nil, blockedBy(reqLogin, fmt.Errorf("connecting as %s: %w", name, err))
	}
	if !opts.Implicit {
		if _, err := r.AuthTLS(w.ctx); err != nil {
			r.Close()
			return nil, blockedBy(reqLogin, fmt.Errorf("AUTH TLS as %s: %w", name, err))
		}
	}
	if code, msg, err := r.Login(id.Username, id.Password); err != nil || code != 230 {
		r.Close()
		return nil, blockedBy(reqLogin, fmt.Errorf("logging in as %s: %s", name, replyText(code, msg, err)))
	}
	for _, cmd := range []string{"PBSZ 0", "PROT P"} {
		if code, msg, err := r.Cmd("%s", cmd); err != nil || code != 200 {
			r.Close()
			return nil, fmt.Errorf("%s: %s", cmd, replyText(code, msg, err))
		}
	}
	if w.raw != nil {
		w.raw.Close()
	}
	w.raw, w.rawWho = r, name
	return r, nil
}

// loginRequirement is the requirement that judges whether an identity logs in: GW-AUTH-04
// for OCES3 (UI) certificates, GW-AUTH-01 for the others.
func loginRequirement(id target.ProfileIdentity) catalogue.ID {
	if strings.Contains(id.Username, "_UI_") {
		return "GW-AUTH-04"
	}
	return reqLogin
}

func (w *World) close() {
	for _, c := range w.clients {
		c.Close()
	}
	if w.raw != nil {
		w.raw.Close()
	}
}

// api returns the control client, or marks the scenario unsupported.
func (w *World) api() (*control.Client, error) {
	if w.suite.api == nil {
		return nil, w.unsupportedf("the target has no control API")
	}
	return w.suite.api, nil
}

// advance moves the target's clock; a real clock makes the scenario unsupported.
func (w *World) advance(d time.Duration) error {
	st, err := w.targetState()
	if err != nil {
		return err
	}
	if err := w.stateErr(st.Advance(w.ctx, d)); err != nil {
		return err
	}
	w.note("clock advanced by %s", d)
	return nil
}

// targetState is how this scenario puts the target into states, or an UNSUPPORTED error.
func (w *World) targetState() (target.State, error) {
	if w.suite.state == nil {
		return nil, w.unsupportedf("the target has no control API and the profile names no state adapter, and this scenario must put it into a state")
	}
	return w.suite.state.Reporting(w.noteOutput), nil // a state adapter's output is this scenario's evidence
}

// stateErr turns "the target cannot do this" into UNSUPPORTED.
func (w *World) stateErr(err error) error {
	if errors.Is(err, target.ErrStateUnsupported) {
		return w.unsupportedf("%v", err)
	}
	return err
}

// newName makes a file name no earlier run has used: letters, digits, underscore.
func (w *World) newName(prefix string) string {
	n := w.suite.next()
	return fmt.Sprintf("%sftpsgw_%s_%03d.txt", prefix, w.suite.runID, n)
}

// randomLetters returns n random letters (for long unique names).
func randomLetters(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b strings.Builder
	for range n {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b.WriteByte(letters[i.Int64()])
	}
	return b.String()
}

// uploadAs uploads data under name into a service folder as an identity.
func (w *World) uploadAs(who, service, name string, data []byte) error {
	c, err := w.login(who)
	if err != nil {
		return err
	}
	var stale map[int]string
	if last, lerr := w.lastFile(); lerr == nil && last.name == name && last.service == service {
		stale = w.receipts
	}
	err = c.Upload("/"+service+"/"+name, data)
	w.upload = uploadResult{err: err, code: ftpsclient.Code(err)}
	w.files = append(w.files, upFile{who: who, service: service, name: name, err: err, stale: stale})
	w.receipts = map[int]string{}
	if err != nil {
		w.note("STOR /%s/%s as %s: refused: %v", service, name, who, err)
	} else {
		w.note("STOR /%s/%s as %s: 226", service, name, who)
	}
	return nil
}

func (w *World) lastFile() (upFile, error) {
	if len(w.files) == 0 {
		return upFile{}, errors.New("no file was uploaded in this scenario")
	}
	return w.files[len(w.files)-1], nil
}

func isRefused(code int) bool { return code >= 400 }

// errText is an error for evidence: "ok" when there is none.
func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// replyText is an FTP reply for evidence: "230 Password ok", or what stopped it coming.
func replyText(code int, msg string, err error) string {
	switch {
	case code == 0 && err != nil:
		return "no reply (" + err.Error() + ")"
	case code == 0:
		return "no reply"
	case err != nil:
		return fmt.Sprintf("%d %s (%v)", code, msg, err)
	}
	return fmt.Sprintf("%d %s", code, msg)
}

// blockedBy marks a failure of something another requirement judges (catalogue.BlockedError).
func blockedBy(req catalogue.ID, err error) error {
	if err == nil || errors.Is(err, errUnsupported) {
		return err
	}
	return &catalogue.BlockedError{By: req, Err: err}
}

// Requirements that judge the preconditions other scenarios rely on.
const (
	reqLogin    catalogue.ID = "GW-AUTH-01" // the certificate and its password log in
	reqReceipts catalogue.ID = "GW-STAT-02" // an accepted file gets receipts 1, then 2 (and 3)
	reqDataTLS  catalogue.ID = "GW-TLS-03"  // data connections are protected
)
