package simulator_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// One PKI for the whole test binary (read-only; every server registers it afresh).
var (
	pkiOnce sync.Once
	pkiDir  string
	pkiErr  error
)

func sharedPKI(t testing.TB) *certs.Manifest {
	t.Helper()
	pkiOnce.Do(func() {
		var p *certs.PKI
		if p, pkiErr = certs.NewPKI(certs.Options{}); pkiErr != nil {
			return
		}
		var dir string
		if dir, pkiErr = os.MkdirTemp("", "ftpsgw-sim-pki-"); pkiErr != nil {
			return
		}
		pkiDir = filepath.Join(dir, "pki")
		_, pkiErr = certs.WriteDir(pkiDir, p, false)
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	m, err := certs.LoadManifest(pkiDir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pkiDir != "" {
		os.RemoveAll(filepath.Dir(pkiDir))
	}
	os.Exit(code)
}

// syncBuffer collects the server log so tests can check what it says (and never says).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	t   *testing.T
	srv *simulator.Server
	m   *certs.Manifest
	cfg simulator.Config
	log *syncBuffer
}

// testConfig is the simulator on free loopback ports with a per-test data folder.
func testConfig(t *testing.T) simulator.Config {
	cfg := simulator.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.PassivePorts = "0"
	cfg.Control.Listen = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.PKI = sharedPKI(t).Dir()
	cfg.Login.MaxFailures = 1000 // tests that probe lock-outs lower it
	return cfg
}

func start(t *testing.T, mutate func(*simulator.Config)) *harness {
	t.Helper()
	cfg := testConfig(t)
	if mutate != nil {
		mutate(&cfg)
	}
	return startWith(t, cfg)
}

func startWith(t *testing.T, cfg simulator.Config) *harness {
	t.Helper()
	logBuf := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := simulator.Start(context.Background(), cfg, simulator.Options{Logger: logger})
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	h := &harness{t: t, srv: srv, m: srv.Manifest(), cfg: cfg, log: logBuf}
	t.Cleanup(func() {
		if !t.Failed() {
			validateEveryReceipt(t, srv)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	})
	return h
}

func (h *harness) identity(name string) certs.ManifestIdentity {
	h.t.Helper()
	id, ok := h.m.Lookup(name)
	if !ok {
		h.t.Fatalf("no identity %q in the PKI", name)
	}
	return id
}

func (h *harness) options(name string) ftpsclient.Options {
	h.t.Helper()
	pool, err := h.m.CAPool()
	if err != nil {
		h.t.Fatal(err)
	}
	opts := ftpsclient.Options{Addr: h.srv.Ready().Control, ServerName: "localhost", RootCAs: pool, Timeout: 20 * time.Second}
	if name != "" {
		cert, err := h.m.ClientCertificate(h.identity(name))
		if err != nil {
			h.t.Fatal(err)
		}
		opts.Certificate = &cert
	}
	return opts
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// login returns a logged-in jlaffaye/ftp client for a manifest identity.
func (h *harness) login(name string) *ftpsclient.Client {
	h.t.Helper()
	c, err := ftpsclient.Dial(ctx(h.t), h.options(name))
	if err != nil {
		h.t.Fatalf("dial as %s: %v", name, err)
	}
	id := h.identity(name)
	if err := c.Login(id.Username, id.Password); err != nil {
		c.Close()
		h.t.Fatalf("login as %s: %v", name, err)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

// raw returns a raw client after AUTH TLS as the identity (no login).
func (h *harness) raw(name string) (*ftpsclient.Raw, tls.ConnectionState) {
	h.t.Helper()
	r, err := ftpsclient.DialRaw(ctx(h.t), h.options(name))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { r.Close() })
	st, err := r.AuthTLS(ctx(h.t))
	if err != nil {
		h.t.Fatalf("AUTH TLS as %s: %v", name, err)
	}
	return r, st
}

// rawLogin returns a raw client logged in as the identity.
func (h *harness) rawLogin(name string) *ftpsclient.Raw {
	h.t.Helper()
	r, _ := h.raw(name)
	id := h.identity(name)
	code, msg, err := r.Login(id.Username, id.Password)
	if err != nil || code != 230 {
		h.t.Fatalf("login as %s: %d %s %v", name, code, msg, err)
	}
	for _, cmd := range []string{"PBSZ 0", "PROT P"} {
		if code, msg, err := r.Cmd("%s", cmd); err != nil || code != 200 {
			h.t.Fatalf("%s: %d %s %v", cmd, code, msg, err)
		}
	}
	return r
}

func (h *harness) events(q simulator.JournalQuery) []simulator.Event {
	return h.srv.Journal().Query(q)
}

// findEvent returns the first journal event of a type whose reason contains text.
func (h *harness) findEvent(typ simulator.EventType, text string) (simulator.Event, bool) {
	for _, e := range h.events(simulator.JournalQuery{Types: []simulator.EventType{typ}}) {
		if strings.Contains(e.Reason, text) {
			return e, true
		}
	}
	return simulator.Event{}, false
}

func (h *harness) submissions(username string) []simulator.Submission {
	h.t.Helper()
	subs, err := h.srv.Store().Submissions(context.Background(), username)
	if err != nil {
		h.t.Fatal(err)
	}
	return subs
}

// eventually polls cond until it holds or the deadline passes (for server-side effects that
// follow a reply the client has already seen).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// api returns a control API client for the harness's simulator.
func (h *harness) api() *control.Client {
	c := control.NewClient(h.srv.Ready().ControlAPI, h.cfg.Control.Token)
	c.Timeout = 20 * time.Second
	return c
}

// virtual configures a virtual clock.
func virtual(c *simulator.Config) { c.Clock = simulator.ClockVirtual }

// metrics fetches /metrics from the control listener.
func (h *harness) metrics() string {
	h.t.Helper()
	req, _ := http.NewRequestWithContext(ctx(h.t), http.MethodGet, h.srv.Ready().ControlAPI+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// grepLines returns the lines of s that contain any of words.
func grepLines(s string, words ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// dialAs logs in with the certificate of one identity and any username and password.
func (h *harness) dialAs(certOf, user, pass string) (*ftpsclient.Client, error) {
	h.t.Helper()
	c, err := ftpsclient.Dial(ctx(h.t), h.options(certOf))
	if err != nil {
		return nil, err
	}
	h.t.Cleanup(func() { c.Close() })
	return c, c.Login(user, pass)
}

// validateEveryReceipt checks every status file the test made: SKAT's declaration, and the
// schema (element names, the server path in <filename>, the SKATTransactionId shape), with one
// xmllint run over all of them.
func validateEveryReceipt(t *testing.T, srv *simulator.Server) {
	t.Helper()
	files, err := srv.Store().Outbox(context.Background(), "")
	if err != nil {
		if !strings.Contains(err.Error(), "database is closed") { // the test closed it itself
			t.Errorf("reading the receipts: %v", err)
		}
		return
	}
	dir := t.TempDir()
	var paths []string
	for i, f := range files {
		if f.Kind != "receipt" {
			continue
		}
		if !bytes.HasPrefix(f.Content, []byte(`<?xml version="1.0" encoding="UTF-8" standalone="no"?>`)) {
			t.Errorf("%s lacks SKAT's declaration:\n%s", f.Name, f.Content)
		}
		p := filepath.Join(dir, fmt.Sprintf("%04d-%s", i, f.Name))
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Error("xmllint is missing (Debian package libxml2-utils): CI must validate every receipt against the XSD")
		}
		return
	}
	schema, _ := filepath.Abs("schema/status.xsd")
	out, err := exec.Command("xmllint", append([]string{"--noout", "--schema", schema}, paths...)...).CombinedOutput()
	if err != nil {
		t.Errorf("receipts that do not validate against schema/status.xsd: %v\n%s", err, out)
	}
}
