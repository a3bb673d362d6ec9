package simulator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// The backend systems and the central security system as processes of their own
// (`ftpsgw backend`, `ftpsgw security`). The gateway reaches them over HTTP (Config
// backend.url and security.url); embedded, it uses its own tables instead. Both keep their
// state in SQLite in their data folder, so a restart loses nothing.

var (
	errNotReceived = errors.New("the backend never received this file")
	errRemote      = errors.New("the remote service did not answer")
)

// maxDelivery bounds one delivered file.
const maxDelivery = 4 << 30

var skatIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// SecurityService is the central security system: registrations and roles, versioned.
type SecurityService struct {
	store   store.SecurityStore
	version string
	lock    *dataLock
}

// OpenSecurityService opens (creating if needed) dataDir/security.db.
func OpenSecurityService(dataDir, version string) (*SecurityService, error) {
	lock, err := lockDataDir(dataDir, "ftpsgw security")
	if err != nil {
		return nil, err
	}
	st, err := store.OpenSecurityStore(dataDir)
	if err != nil {
		lock.release()
		return nil, err
	}
	return &SecurityService{store: st, version: version, lock: lock}, nil
}

// Close closes the database and frees the data folder.
func (s *SecurityService) Close() error {
	err := s.store.Close()
	s.lock.release()
	return err
}

// Handler serves /security/v1.
func (s *SecurityService) Handler() http.Handler {
	mux := http.NewServeMux()
	p := control.SecurityPrefix
	jsonRoute(mux, "GET "+p+"/health", func(r *http.Request) (any, error) {
		snap, err := s.store.SourceSnapshot(r.Context())
		return control.ServiceHealth{Status: "ok", Service: "security", Version: s.version, Count: len(snap.Registrations)}, err
	})
	jsonRoute(mux, "GET "+p+"/snapshot", func(r *http.Request) (any, error) { return s.store.SourceSnapshot(r.Context()) })
	jsonRoute(mux, "PUT "+p+"/registrations/{username}", func(r *http.Request) (any, error) {
		var rec control.SecurityRecord
		if err := decode(r, &rec); err != nil {
			return nil, err
		}
		if rec.Username != r.PathValue("username") {
			return nil, badRequest("the body's username %q differs from the path's %q", rec.Username, r.PathValue("username"))
		}
		if _, err := certs.ParseUsername(rec.Username); err != nil {
			return nil, badRequest("%v", err)
		}
		if rec.PasswordHash == "" || rec.Fingerprint == "" {
			return nil, badRequest("a registration needs fingerprint and password_hash")
		}
		if err := validateRoles(rec.Roles); err != nil {
			return nil, err
		}
		return nil, s.store.PutSourceRecord(r.Context(), rec)
	})
	jsonRoute(mux, "PUT "+p+"/registrations/{username}/roles", func(r *http.Request) (any, error) {
		var body control.Roles
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		if err := validateRoles(body.Roles); err != nil {
			return nil, err
		}
		return nil, s.store.SetSourceRoles(r.Context(), r.PathValue("username"), body.Roles)
	})
	jsonRoute(mux, "DELETE "+p+"/registrations/{username}", func(r *http.Request) (any, error) {
		return nil, s.store.DeleteSourceRecord(r.Context(), r.PathValue("username"))
	})
	jsonRoute(mux, "POST "+p+"/reset", func(r *http.Request) (any, error) { return nil, s.store.ResetSource(r.Context()) })
	return limitBodies(mux, 1<<20)
}

// BackendService stands in for SKAT's backend systems: it receives delivered files, keeps
// them, and answers each by its rules (the same rules as the embedded backend).
type BackendService struct {
	store   store.BackendStore
	dir     string
	version string
	initial BackendSettings

	mu    sync.Mutex
	rules BackendSettings
	lock  *dataLock
}

const metaBackendRules = "backend_rules"

// OpenBackendService opens (creating if needed) dataDir/backend.db and dataDir/received.
// settings give the rules until they are changed through the API (then persisted).
func OpenBackendService(dataDir string, settings BackendSettings, version string) (*BackendService, error) {
	lock, err := lockDataDir(dataDir, "ftpsgw backend")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Join(dataDir, "received"), filepath.Join(dataDir, "tmp")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			lock.release()
			return nil, err
		}
	}
	st, err := store.OpenBackendStore(dataDir)
	if err != nil {
		lock.release()
		return nil, err
	}
	b := &BackendService{store: st, dir: dataDir, version: version, initial: settings, rules: settings, lock: lock}
	var saved backendState
	if ok, err := st.MetaJSON(context.Background(), metaBackendRules, &saved); err != nil {
		st.Close()
		lock.release()
		return nil, err
	} else if ok {
		b.rules.Default, b.rules.Services = saved.Default, saved.Services
	}
	if b.rules.Services == nil {
		b.rules.Services = map[string]ServiceRule{}
	}
	// Files half-received when the process stopped were never acknowledged.
	entries, _ := os.ReadDir(filepath.Join(dataDir, "tmp"))
	for _, e := range entries {
		_ = os.Remove(filepath.Join(dataDir, "tmp", e.Name()))
	}
	return b, nil
}

// Close closes the database.
func (b *BackendService) Close() error {
	err := b.store.Close()
	b.lock.release()
	return err
}

func (b *BackendService) rulesAPI() control.BackendRules {
	b.mu.Lock()
	defer b.mu.Unlock()
	api := backendToAPI(b.rules, true)
	return control.BackendRules{Default: api.Default, Services: api.Services}
}

// Handler serves /backend/v1.
func (b *BackendService) Handler() http.Handler {
	mux := http.NewServeMux()
	p := control.BackendPrefix
	jsonRoute(mux, "GET "+p+"/health", func(r *http.Request) (any, error) {
		all, err := b.store.ReceivedFiles(r.Context(), "")
		return control.ServiceHealth{Status: "ok", Service: "backend", Version: b.version, Count: len(all)}, err
	})
	jsonRoute(mux, "PUT "+p+"/deliveries/{id}", b.receive)
	jsonRoute(mux, "GET "+p+"/deliveries/{id}", func(r *http.Request) (any, error) {
		ds, err := b.store.ReceivedFiles(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		if len(ds) == 0 {
			return nil, errNotReceived
		}
		return ds[0], nil
	})
	jsonRoute(mux, "GET "+p+"/deliveries", func(r *http.Request) (any, error) { return b.store.ReceivedFiles(r.Context(), "") })
	jsonRoute(mux, "GET "+p+"/rules", func(r *http.Request) (any, error) { return b.rulesAPI(), nil })
	jsonRoute(mux, "PUT "+p+"/rules", func(r *http.Request) (any, error) {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20) // deliveries are large; rules are not
		var body control.BackendRules
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		b.mu.Lock()
		next := BackendSettings{Default: b.rules.Default, Services: map[string]ServiceRule{}}
		for k, v := range b.rules.Services {
			next.Services[k] = v
		}
		b.mu.Unlock()
		if err := applyRules(&next, body.Default, body.Services); err != nil {
			return nil, err
		}
		if err := b.store.SetMetaJSON(r.Context(), metaBackendRules, backendState{Default: next.Default, Services: next.Services}); err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.rules.Default, b.rules.Services = next.Default, next.Services
		b.mu.Unlock()
		return b.rulesAPI(), nil
	})
	jsonRoute(mux, "POST "+p+"/reset", func(r *http.Request) (any, error) {
		if err := b.store.ResetReceived(r.Context()); err != nil {
			return nil, err
		}
		if err := b.store.SetMetaJSON(r.Context(), metaBackendRules, backendState{Default: b.initial.Default, Services: b.initial.Services}); err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.rules.Default, b.rules.Services = b.initial.Default, map[string]ServiceRule{}
		for k, v := range b.initial.Services {
			b.rules.Services[k] = v
		}
		b.mu.Unlock()
		_ = os.RemoveAll(filepath.Join(b.dir, "received"))
		return nil, os.MkdirAll(filepath.Join(b.dir, "received"), 0o750)
	})
	return mux
}

// receive stores one delivered file durably (temp file, fsync, rename), answers it by the
// rules, and records it; delivering the same SkatID again returns the first answer.
func (b *BackendService) receive(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if !skatIDRe.MatchString(id) {
		return nil, badRequest("delivery id %q: letters, digits, '-' and '_' only (at most 64)", id)
	}
	q := r.URL.Query()
	d := control.BackendDelivery{SkatID: id, Username: q.Get("username"), Service: q.Get("service"), Name: q.Get("name"),
		SHA256: q.Get("sha256"), ReceivedAt: time.Now().UTC()}
	d.ASCII, _ = strconv.ParseBool(q.Get("ascii"))
	size, err := strconv.ParseInt(q.Get("size"), 10, 64)
	if err != nil || size < 0 || size > maxDelivery || d.Service == "" || d.Name == "" || d.Username == "" {
		return nil, badRequest("a delivery needs username, service, name and size (0 to %d)", int64(maxDelivery))
	}
	d.Size = size
	if have, err := b.store.ReceivedFiles(r.Context(), id); err != nil {
		return nil, err
	} else if len(have) > 0 {
		// Already received: count the attempt, answer as before, keep nothing new.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDelivery))
		first, _, err := b.store.Received(r.Context(), have[0])
		return first.Verdict, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(b.dir, "tmp", id+"-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r.Body, size+1))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("receiving %s: %w", id, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n != size || (d.SHA256 != "" && sum != d.SHA256) {
		return nil, &apiError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("received %d bytes with SHA-256 %s; expected %d bytes with %s", n, sum, size, d.SHA256)}
	}
	d.SHA256 = sum
	final := filepath.Join(b.dir, "received", id)
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	_ = syncDir(filepath.Dir(final))
	b.mu.Lock()
	rule := b.rules.Rule(d.Service)
	b.mu.Unlock()
	d.Verdict = control.BackendVerdict{Accepted: true, Delay: rule.Delay.Std().String()}
	if rerr := evaluateRule(rule, d.Service, d.ASCII, func() (io.ReadCloser, error) { return os.Open(final) }); rerr != nil {
		d.Verdict.Accepted = false
		d.Verdict.Error = &control.ReceiptError{Code: rerr.Code, Message: rerr.Message, Resolution: rerr.Resolution}
	} else if rule.Reply {
		d.Verdict.Reply, d.Verdict.ExposeDelay = true, rule.ExposeDelay.Std().String()
	}
	first, _, err := b.store.Received(r.Context(), d)
	return first.Verdict, err
}

// limitBodies bounds every request body.
func limitBodies(next http.Handler, n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// ServeHTTPUntil serves h on addr until ctx ends; ready is called with the bound address.
func ServeHTTPUntil(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(addr string)) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-done:
		log.Error("http server stopped", "err", err)
		return err
	}
}
