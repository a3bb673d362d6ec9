package simulator

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/clock"
	"github.com/ftpsgw/ftpsgw/simulator/internal/journal"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// ReadyFile is written into the data folder once the server accepts connections.
const ReadyFile = "ready.json"

// Ready describes a running simulator: what scripts and tests wait for.
type Ready struct {
	Control      string    `json:"control"`               // explicit FTPS address
	Implicit     string    `json:"implicit,omitempty"`    // implicit FTPS address
	ControlAPI   string    `json:"control_api,omitempty"` // control API base URL, e.g. http://127.0.0.1:6382
	PassivePorts string    `json:"passive_ports"`         // LO-HI, or 0
	PKI          string    `json:"pki"`                   // folder with manifest.json
	CABundle     string    `json:"ca_bundle"`             // what clients trust
	DevPKI       bool      `json:"dev_pki"`               // the PKI was created at this start
	PID          int       `json:"pid"`
	Started      time.Time `json:"started"`
}

// Server is a running simulator.
type Server struct {
	gw       *Gateway
	http     *http.Server
	stopLoop context.CancelFunc
	ready    Ready
	servers  []*ftpserver.FtpServer
	wg       sync.WaitGroup
	once     sync.Once
	stopOnce sync.Once // the listeners' close
	m        *certs.Manifest
	lock     *dataLock // the data folder's lock, held until Close
	// loopStarted: Close waits for the pipeline loop only if it ran (a start that failed
	// early must not wait 10 s for a loop that never started).
	loopStarted bool
}

// Options are the parts of a simulator that are not settings.
type Options struct {
	Clock  clock.Clock  // nil: RealClock
	Logger *slog.Logger // nil: discard
	// JournalCapacity bounds the in-memory journal (default 200000 events).
	JournalCapacity int
	// Version is reported by the control API's /health.
	Version string
	// Finish, when set, is called by POST /control/v1/finish (and the dashboard's button):
	// the end of a client observation (certify-client --observe). Without it the route
	// answers 404.
	Finish func()
}

// Start opens the data folder, prepares the PKI and registrations, and starts serving.
func Start(ctx context.Context, cfg Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults(cfg)
	abs, err := filepath.Abs(cfg.Data)
	if err != nil {
		return nil, err
	}
	// One owner per data folder, before anything in it is touched: a second serve on the
	// same folder would free the first's reserved names and delete its uploads in flight.
	lock, err := lockDataDir(abs, "ftpsgw serve")
	if err != nil {
		return nil, err
	}
	data, m, devPKI, tr, serverCert, err := prepareDataAndPKI(cfg)
	if err != nil {
		lock.release()
		return nil, err
	}
	sync := store.SyncNormal
	if cfg.Durability == DurabilityPower {
		sync = store.SyncFull
	}
	store, err := store.OpenStoreSync(data, sync)
	if err != nil {
		lock.release()
		return nil, err
	}
	if free, ok := freeDisk(data); ok && cfg.Limits.MinFreeDisk > 0 && free < cfg.Limits.MinFreeDisk {
		opts.Logger.Warn("the data folder's disk is below limits.min_free_disk: every upload is refused (552) until space is freed or the limit lowered",
			"data", data, "free_bytes", free, "min_free_disk", cfg.Limits.MinFreeDisk)
	}
	srv := &Server{m: m, lock: lock}
	loopCtx, stopLoop := context.WithCancel(context.Background())
	srv.stopLoop = stopLoop
	ok := false
	defer func() {
		if !ok {
			if srv.gw == nil {
				store.Close()
			}
			srv.Close()
		}
	}()
	g := newGateway(cfg, opts, store, tr, m, data)
	g.life = loopCtx
	srv.gw = g
	if vc, ok := opts.Clock.(*clock.Virtual); ok {
		if t, err := store.MetaTime(ctx, metaVirtualNow); err != nil {
			return nil, err
		} else {
			vc.Set(t)
		}
	}
	if g.baseTLS, err = g.newBaseTLS(serverCert); err != nil {
		return nil, err
	}
	if g.impostors, err = m.ImpostorCertificates(); err != nil {
		return nil, err
	}
	if err := g.recover(ctx, m); err != nil {
		return nil, err
	}
	if err := g.seedHistory(ctx, m); err != nil {
		return nil, err
	}

	if err := srv.serveFTPS(cfg.Listen, false, opts.Logger); err != nil {
		return nil, err
	}
	if cfg.ImplicitListen != "" {
		if err := srv.serveFTPS(cfg.ImplicitListen, true, opts.Logger); err != nil {
			return nil, err
		}
	}
	if err := srv.serveControl(cfg.Control.Listen, opts); err != nil {
		return nil, err
	}
	g.addrs = srv.ready
	go g.pipeline.loop(loopCtx)
	srv.loopStarted = true
	srv.ready.PassivePorts = cfg.PassivePorts
	srv.ready.PKI = m.Dir()
	srv.ready.CABundle = m.Path(m.CA.Bundle)
	srv.ready.DevPKI = devPKI
	srv.ready.PID = os.Getpid()
	srv.ready.Started = time.Now().UTC()
	if err := writeJSONAtomic(filepath.Join(data, ReadyFile), srv.ready); err != nil {
		return nil, err
	}
	_ = lock.describe(lockHolder{PID: os.Getpid(), Command: "ftpsgw serve", Since: srv.ready.Started,
		Addrs: []string{"ftps " + srv.ready.Control, "control " + srv.ready.ControlAPI}})
	opts.Logger.Info("gateway simulator ready", "control", srv.ready.Control, "implicit", srv.ready.Implicit, "control_api", srv.ready.ControlAPI,
		"clock", cfg.Clock,
		"passive_ports", cfg.PassivePorts, "data", data, "pki", m.Dir())
	ok = true
	return srv, nil
}

// newGateway assembles the gateway's parts for a configuration: its rules, the run-time
// parts with their own locks, and the embedded or remote backend and security system.
func newGateway(cfg Config, opts Options, store *store.Store, tr *trust, m *certs.Manifest, data string) *Gateway {
	cfg = cfg.WithTiming()
	var boot [3]byte
	_, _ = rand.Read(boot[:])
	c := &core{cfg: cfg, rules: RulesFor(cfg), clock: opts.Clock, store: store, log: opts.Logger,
		journal: journal.New(opts.JournalCapacity, opts.Clock)}
	g := &Gateway{core: c, dataDir: data, m: m, boot: hex.EncodeToString(boot[:]), sessions: newSessionTable(), finish: opts.Finish,
		faults: &faultInjector{}}
	g.replica = &securityReplica{core: c, roles: &roleView{roles: map[string][]string{}}, security: embeddedSecurity{store},
		repl: &replication{interval: cfg.Security.ReplicationInterval.Std(), retryMin: cfg.Backend.RetryMin.Std(),
			reachable: cfg.Security.Reachable, dirty: true}} // dirty: unknown until the first replication
	if cfg.Security.URL != "" {
		g.replica.security = httpSecurity{store: store, c: control.NewSecurityClient(cfg.Security.URL, cfg.Security.Timeout.Std())}
	}
	g.pipeline = &receiptPipeline{core: c, link: &backendLink{s: cfg.Backend}, replica: g.replica, dataDir: data}
	g.pipeline.state.wake, g.pipeline.state.done = make(chan struct{}, 1), make(chan struct{})
	g.pipeline.backend = embeddedBackend{g.pipeline}
	if cfg.Backend.URL != "" {
		g.pipeline.backend = httpBackend{p: g.pipeline, c: control.NewBackendClient(cfg.Backend.URL, cfg.Backend.Timeout.Std())}
	}
	g.tlsGuard = &tlsGuard{core: c, trust: tr}
	g.logins = &logins{core: c, limiter: newLoginLimiter(opts.Clock, cfg.Login)}
	g.uploads = &uploads{core: c, dataDir: data, drain: &g.drain, pipeline: g.pipeline}
	g.api = &controlAPI{g: g}
	c.metrics = newMetrics(c, g.pipeline, g.replica)
	return g
}

// withDefaults fills in the options left empty.
func (opts Options) withDefaults(cfg Config) Options {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
		if cfg.Clock == ClockVirtual {
			opts.Clock = clock.NewVirtual(time.Now())
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.JournalCapacity == 0 {
		opts.JournalCapacity = 200_000
	}
	return opts
}

// prepareDataAndPKI makes the data folder's layout, removes a stale ready file, and loads (or
// creates) the PKI: the trust anchors and the gateway's certificate.
func prepareDataAndPKI(cfg Config) (data string, m *certs.Manifest, devPKI bool, tr *trust, serverCert tls.Certificate, err error) {
	if data, err = filepath.Abs(cfg.Data); err != nil {
		return
	}
	// (the data folder itself was claimed with its lock; /out is a view of the database)
	for _, d := range []string{"tmp", "spool"} {
		if _, err = ownFolder(data, d); err != nil {
			err = fmt.Errorf("data folder: %w", err)
			return
		}
	}
	if fi, lerr := os.Lstat(filepath.Join(data, "out")); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// older versions made an out folder; a link there is refused like tmp's and spool's
		err = fmt.Errorf("data folder: %w: %s is a symbolic link: remove the link", ErrNotDataFolder, filepath.Join(data, "out"))
		return
	}
	_ = os.Remove(filepath.Join(data, ReadyFile))
	if m, devPKI, err = preparePKI(cfg, data); err != nil {
		return
	}
	if tr, err = loadTrust(m); err != nil {
		return
	}
	if serverCert, err = m.ServerCertificate(); err != nil {
		err = fmt.Errorf("loading the gateway certificate: %w", err)
	}
	return
}

// serveFTPS starts one FTPS listener (explicit, or implicit: TLS from the first byte).
func (srv *Server) serveFTPS(addr string, implicit bool, logger *slog.Logger) error {
	g := srv.gw
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	ln := net.Listener(trackingListener{Listener: tcp, sessions: g.sessions})
	g.sessions.addControlPort(ln.Addr().(*net.TCPAddr).Port)
	f := newFront(g, ln, implicit)
	fs := ftpserver.NewFtpServer(f)
	fs.Logger = slog.New(&libTap{front: f, next: logger.Handler()})
	if err := fs.Listen(); err != nil {
		ln.Close()
		return err
	}
	srv.servers = append(srv.servers, fs)
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		if err := fs.Serve(); err != nil && !errors.Is(err, net.ErrClosed) {
			logger.Error("FTPS listener stopped", "listener", f.name, "err", err)
		}
	}()
	if implicit {
		srv.ready.Implicit = ln.Addr().String()
	} else {
		srv.ready.Control = ln.Addr().String()
	}
	return nil
}

// serveControl starts the control API listener, unless it is "off".
func (srv *Server) serveControl(addr string, opts Options) error {
	if addr == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("control API: listening on %s: %w", addr, err)
	}
	srv.ready.ControlAPI = "http://" + ln.Addr().String()
	srv.http = &http.Server{Handler: srv.gw.api.controlHandler(opts.Version), ReadHeaderTimeout: 10 * time.Second}
	srv.http.RegisterOnShutdown(srv.gw.dashboard.close) // the dashboard's live streams end
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		if err := srv.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("control API stopped", "err", err)
		}
	}()
	return nil
}

// preparePKI loads the configured PKI, or creates a development PKI under data/pki.
func preparePKI(cfg Config, data string) (*certs.Manifest, bool, error) {
	dir := cfg.PKI
	if dir == "" {
		dir = filepath.Join(data, "pki")
		if _, err := os.Stat(filepath.Join(dir, certs.ManifestFile)); errors.Is(err, fs.ErrNotExist) {
			p, err := certs.NewPKI(certs.Options{})
			if err != nil {
				return nil, false, err
			}
			m, err := certs.WriteDir(dir, p, false)
			return m, true, err
		}
	}
	m, err := certs.LoadManifest(dir)
	return m, false, err
}

// recover runs at every start: frees names of uploads that never completed, deletes their
// partial files and any spooled file that was never committed, and imports the manifest's
// registrations into an empty database.
func (g *Gateway) recover(ctx context.Context, m *certs.Manifest) error {
	if n, err := g.store.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		g.log.Warn("freed names of uploads interrupted by the last stop", "count", n)
	}
	queued, _, err := g.store.QueueStats(ctx)
	if err != nil {
		return err
	}
	g.pipeline.state.queued.Store(int64(queued))
	removePartialUploads(g.log, g.dataDir)
	known, err := g.store.SpoolPaths(ctx)
	if err != nil {
		return err
	}
	removeUnknownSpool(g.log, g.dataDir, known)
	if done, err := g.startSecurity(ctx); err != nil || done {
		return err
	}
	if err := g.checkRegistrations(ctx); err != nil {
		return err
	}
	// Run-time state the control API changed survives a restart.
	var bs backendState
	if ok, err := g.store.MetaJSON(ctx, metaBackend, &bs); err != nil {
		return err
	} else if ok {
		g.pipeline.link.restore(bs)
	}
	if v, ok, err := g.store.Meta(ctx, metaSecurityReachable); err != nil {
		return err
	} else if ok {
		g.replica.repl.setReachable(v == "true")
	}
	last, err := g.store.MetaTime(ctx, metaLastReplication)
	if err != nil {
		return err
	}
	g.replica.repl.startAt(last)
	return g.replica.loadRoles(ctx)
}

// startSecurity fills an empty security system with the manifest's registrations (done:
// the gateway then starts from them), or, from a remote one, replicates. When a remote one
// does not answer, the gateway starts from its last replica and keeps retrying.
func (g *Gateway) startSecurity(ctx context.Context) (done bool, err error) {
	empty, err := g.replica.security.Empty(ctx)
	switch {
	case errors.Is(err, errUnreachable):
		g.log.Warn("security system unreachable at start; serving from the last replica", "url", g.cfg.Security.URL, "err", err)
		g.replica.repl.failed()
		return false, nil
	case err != nil:
		return false, err
	case empty:
		return true, g.initialRegistrations(ctx)
	case g.cfg.Security.URL != "": // a remote source is replicated from at once
		return false, g.replica.replicateFromSource(ctx, g.clock.Now())
	}
	return false, nil
}

// checkRegistrations compares the registrations with the PKI at every start after the first.
// A PKI replaced under a data folder (`ftpsgw pki init --force`) leaves registrations pinned
// to certificates nobody holds any more, and every login fails with 530. When the PKI is the
// simulator's own (DATA/pki) and the security system embedded, each identity of the new PKI
// is registered again (its new certificate and password; roles kept); otherwise one line says
// which registrations are stale and how to fix them.
func (g *Gateway) checkRegistrations(ctx context.Context) error {
	regs, err := g.store.Registrations(ctx)
	if err != nil {
		return err
	}
	inPKI := map[string]bool{}
	for _, id := range g.m.Identities {
		inPKI[id.Fingerprint] = true
	}
	var stale []store.Registration
	for _, r := range regs {
		if !inPKI[r.Fingerprint] {
			stale = append(stale, r)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	own := filepath.Clean(g.m.Dir()) == filepath.Join(g.dataDir, "pki") && g.cfg.Security.URL == ""
	if !own {
		names := make([]string, 0, len(stale))
		for _, r := range stale {
			names = append(names, r.Username)
		}
		g.log.Warn(fmt.Sprintf("%d registration(s) name certificates that are not in the PKI at %s (%s): logins with them fail with 530 until they are registered again with the new certificates (POST /control/v1/registrations), or the simulator starts on a fresh data folder", len(stale), g.m.Dir(), strings.Join(names, ", ")))
		return nil
	}
	roles := map[string][]string{}
	src, err := g.store.Source().SourceSnapshot(ctx) // the security system's roles, changes not yet replicated included
	if err != nil {
		return err
	}
	for _, r := range src.Registrations {
		roles[r.Username] = r.Roles
	}
	now, n := g.clock.Now(), 0
	for _, id := range g.m.Identities {
		if id.Username == "" || id.Password == "" {
			continue
		}
		reg := store.Registration{Username: g.logins.usernameOf(id.Identity()), CVR: id.CVR, Fingerprint: id.Fingerprint, Roles: id.Roles}
		if r, ok := roles[reg.Username]; ok {
			reg.Roles = r
		}
		if err := g.register(ctx, reg, id.Password, now); err != nil {
			return fmt.Errorf("registering %s again: %w", id.Name, err)
		}
		n++
	}
	g.log.Warn(fmt.Sprintf("the PKI in %s was replaced: %d registration(s) named certificates no longer in it; its %d identities are registered again with their new certificates and passwords (roles kept)", g.m.Dir(), len(stale), n))
	return nil
}

// initialRegistrations registers every login-capable identity of the manifest (with its
// password and roles) in the security system and the replica: the state of a fresh gateway.
func (g *Gateway) initialRegistrations(ctx context.Context) error {
	now := g.clock.Now()
	for _, id := range g.m.Identities {
		if id.Username == "" || id.Password == "" {
			continue
		}
		reg := store.Registration{Username: g.logins.usernameOf(id.Identity()), CVR: id.CVR, Fingerprint: id.Fingerprint, Roles: id.Roles}
		if err := g.register(ctx, reg, id.Password, now); err != nil {
			return fmt.Errorf("registering %s: %w", id.Name, err)
		}
	}
	if err := g.store.SetMetaTime(ctx, metaLastReplication, now); err != nil {
		return err
	}
	g.replica.repl.startAt(now)
	return g.replica.loadRoles(ctx)
}

func (sr *securityReplica) loadRoles(ctx context.Context) error {
	regs, err := sr.store.Registrations(ctx)
	if err != nil {
		return err
	}
	roles := map[string][]string{}
	for _, r := range regs {
		roles[r.Username] = r.Roles
	}
	sr.roles.set(roles)
	return nil
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Ready returns the addresses the server listens on.
func (s *Server) Ready() Ready { return s.ready }

// Manifest returns the PKI the server trusts and registered.
func (s *Server) Manifest() *certs.Manifest { return s.m }

// Journal returns the session journal.
func (s *Server) Journal() *journal.Journal { return s.gw.journal }

// Gateway returns the gateway (clock, pipeline, control operations).
func (s *Server) Gateway() *Gateway { return s.gw }

// Store returns the durable state.
func (s *Server) Store() *store.Store { return s.gw.store }

// DataDir returns the absolute data folder.
func (s *Server) DataDir() string { return s.gw.dataDir }

// Close stops the listeners, waits for them and closes the database.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err = s.stopListeners()
		if s.gw != nil {
			// Sessions still open (no Drain, or one that gave up) end here, before the store closes.
			for _, c := range s.gw.sessions.conns() {
				_ = c.Close()
			}
		}
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.http.Shutdown(ctx)
			cancel()
		}
		s.wg.Wait()
		if s.stopLoop != nil {
			s.stopLoop()
			if s.gw != nil && s.loopStarted {
				select {
				case <-s.gw.pipeline.state.done:
				case <-time.After(10 * time.Second):
				}
			}
		}
		if s.gw != nil {
			_ = os.Remove(filepath.Join(s.gw.dataDir, ReadyFile))
			err = errors.Join(err, s.gw.store.Close())
		}
		s.lock.release() // last: the folder is free only when nothing of this process uses it
	})
	return err
}

// stopListeners closes the FTPS listeners once: no new sessions; open ones go on.
func (s *Server) stopListeners() error {
	var err error
	s.stopOnce.Do(func() {
		for _, fs := range s.servers {
			if e := fs.Stop(); e != nil && !errors.Is(e, net.ErrClosed) && !strings.Contains(e.Error(), "closed") {
				err = errors.Join(err, e)
			}
		}
	})
	return err
}

// refuseActiveMode makes the library refuse every PORT and EPRT with a permanent 501 (its
// answer to a data-connection requirement it does not know), where DisableActiveMode would
// answer 421, a transient reply that tells clients to retry (one took 110 s to give up).
// TestActiveModeRefused pins the reply, so a library upgrade that changes it fails a test.
const refuseActiveMode ftpserver.DataConnectionRequirement = 100
