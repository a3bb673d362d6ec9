package simulator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/names"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// scopeKey is the name registry's key for the configured uniqueness scope.
// uploads accepts files into the spool: name rules, reuse, quotas and free space.
type uploads struct {
	*core
	dataDir  string
	drain    *drainState      // uploads in flight, for a graceful stop
	pipeline *receiptPipeline // told of every committed upload
}

func (u *uploads) scopeKey(username, cvr string) string {
	switch u.cfg.UniqueScope {
	case ScopeCertificate:
		return "cert:" + username
	case ScopeGlobal:
		return "global"
	}
	return "cvr:" + cvr
}

// startUpload checks the name, reserves it, and returns the handle the library copies into.
func (u *uploads) startUpload(f *folders, service, name string) (ftpserver.FileTransfer, error) {
	full := "/" + service + "/" + name
	if u.drain.active.Load() {
		return nil, f.refuseUpload(full, errShuttingDown)
	}
	fn, err := names.ParseFor(name, u.nameRule(service))
	if err != nil {
		return nil, f.refuseUpload(full, fmt.Errorf("%w: %v", ftpserver.ErrFileNameNotAllowed, err))
	}
	ctx := f.s.ctx
	key := u.scopeKey(f.username, f.cvr)
	now := u.clock.Now()
	reused := false
	switch err := u.store.Reserve(ctx, key, name, f.username, f.s.id, now); {
	case errors.Is(err, store.ErrNameReused) && u.cfg.ReuseReply == ReuseReplyReject:
		return nil, f.refuseUpload(full, fmt.Errorf("%w: %s: %s was submitted before", ftpserver.ErrFileNameNotAllowed, receipt.ErrCodeNameReused, name))
	case errors.Is(err, store.ErrNameReused) && !u.rules.Names.RefuseReuse:
		key = "" // filed again like a new name
	case errors.Is(err, store.ErrNameReused):
		reused = true // accepted, answered with a status_0 receipt (documented behaviour)
	case errors.Is(err, store.ErrNameBusy):
		return nil, f.refuseUpload(full, fmt.Errorf("%s: %w", name, store.ErrNameBusy))
	case err != nil:
		return nil, f.refuseUpload(full, fmt.Errorf("internal error: %w", err))
	}
	release := func() {
		if !reused && key != "" {
			_ = u.store.Release(ctx, key, name, f.s.id)
		}
	}
	quotaLeft, err := u.uploadRoom(ctx, f.username, now)
	if err != nil {
		release()
		return nil, f.refuseUpload(full, err)
	}
	f.s.mu.Lock()
	ascii := f.s.ascii
	f.s.dataConn, f.s.dataTLSVersion = nil, 0 // the library accepts this upload's data connection after opening the file
	f.s.mu.Unlock()
	u.drain.begin(f.s)
	return &upload{quotaLeft: quotaLeft, up: u, f: f, hash: sha256.New(), service: service, name: fn, scope: key, reused: reused, ascii: ascii, path: full}, nil
}

// upload is one STOR in progress. Bytes go to a temporary file; only a transfer that ends
// cleanly is written out (fsynced with durability: power), renamed into the spool and committed (name burned, submission recorded)
// before the library sends 226. Anything else deletes the file and frees the name.
type upload struct {
	quotaLeft int64 // bytes this upload may still take under daily_quota (-1: no quota)
	up        *uploads
	f         *folders
	mem       []byte       // the upload while it is small (at most inlineMax): kept in the database, no file
	tmp       *os.File     // created once the upload outgrows mem
	spool     *spoolWriter // the pipeline that hashes and writes tmp (spool.go)
	hash      hash.Hash    // SHA-256 of the content: by Write while in mem, then by the spool's hashing stage
	size      int64
	service   string
	name      names.FileName
	scope     string
	reused    bool
	ascii     bool
	path      string

	mu       sync.Mutex
	aborted  error
	finished bool
}

// inlineMax is the largest upload kept in the database instead of a spool file.
const inlineMax = 64 << 10

func (u *upload) Write(p []byte) (int, error) {
	l := u.up.cfg.Limits
	if l.MaxUploadSize > 0 && u.size+int64(len(p)) > l.MaxUploadSize {
		u.up.metrics.limits.WithLabelValues("max_upload_size").Inc()
		return 0, fmt.Errorf("%w: the upload is larger than %d bytes (limits.max_upload_size)", ftpserver.ErrStorageExceeded, l.MaxUploadSize)
	}
	if u.quotaLeft >= 0 && u.size+int64(len(p)) > u.quotaLeft {
		u.up.metrics.limits.WithLabelValues("daily_quota").Inc()
		return 0, fmt.Errorf("%w: the upload passes %s's daily quota of %d bytes (limits.daily_quota)", ftpserver.ErrStorageExceeded, u.f.username, l.DailyQuota)
	}
	if u.tmp == nil && len(u.mem)+len(p) <= inlineMax {
		u.mem = append(u.mem, p...)
		u.hash.Write(p)
		u.size += int64(len(p))
		return len(p), nil
	}
	if u.tmp == nil {
		// Outgrown memory: spill to a temporary file. (Creating a file is the most expensive
		// step of a small upload on some disks: 0.7 ms here, hence inline storage below 64 KiB.)
		tmp, direct, err := createSpoolFile(filepath.Join(u.up.dataDir, "tmp"))
		if err != nil {
			return 0, storageError(u.up.log, err)
		}
		u.tmp, u.spool = tmp, newSpoolWriter(tmp, direct, u.hash, u.mem)
		u.mem = nil
	}
	n, err := u.spool.Write(p)
	u.size += int64(n)
	if err != nil {
		return n, storageError(u.up.log, err)
	}
	return n, nil
}

func (u *upload) Read([]byte) (int, error) { return 0, errors.New("upload handle is write-only") }

func (u *upload) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekStart {
		return 0, nil
	}
	return 0, errors.New("seeking is not allowed in a submission")
}

// TransferError implements ftpserver.FileTransferError: ABOR, a reset, a TLS failure.
func (u *upload) TransferError(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.aborted == nil {
		u.aborted = err
	}
}

// NoCloseNotify is the journal's note on an upload accepted although its TLS data connection
// ended without close_notify (close_notify: optional, or client certification's observer).
const NoCloseNotify = control.ReasonNoCloseNotify

// errTruncated refuses an upload whose TLS data connection ended without close_notify.
var errTruncated = errors.New("upload incomplete: the data connection ended without a TLS close_notify, so the file may be cut short; nothing was stored and the name is still free; send it again, closing TLS (close_notify) before the connection (close_notify: required)")

// Close decides the upload's fate. An error here replaces the library's 226.
func (u *upload) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.finished {
		return nil
	}
	u.finished = true
	g, f := u.up, u.f
	defer g.drain.end(f.s)
	// The commit of a clean end must not stop because the client went away right after it.
	ctx := context.WithoutCancel(f.s.ctx)
	fail := func(reason error) error {
		if u.spool != nil {
			_ = u.spool.stop()
		}
		if u.tmp != nil {
			_ = u.tmp.Close()
			_ = os.Remove(u.tmp.Name())
		}
		if !u.reused {
			_ = g.store.Release(ctx, u.scope, u.name.Name, f.s.id)
		}
		f.refuseUpload(u.path, reason)
		return reason
	}
	if u.aborted != nil {
		g.metrics.uploads.WithLabelValues("aborted").Inc()
		return fail(fmt.Errorf("upload not completed, nothing delivered, name not used: %v", u.aborted))
	}
	endNote := ""
	if w := f.s.currentDataConn(); w != nil {
		if clean, isTLS := w.closedCleanly(); isTLS && !clean {
			if g.rules.Data.RequireCloseNotify {
				g.metrics.uploads.WithLabelValues("truncated").Inc()
				return fail(errTruncated)
			}
			endNote = NoCloseNotify
		}
	}
	now := g.clock.Now()
	rel, dst := "", ""
	if u.tmp != nil {
		err := u.spool.finish()
		u.spool = nil
		if err != nil {
			return fail(storageError(g.log, err))
		}
		if g.cfg.Durability == DurabilityPower {
			if err := u.tmp.Sync(); err != nil {
				return fail(storageError(g.log, err))
			}
		}
		if err := u.tmp.Close(); err != nil {
			return fail(storageError(g.log, err))
		}
		rel = filepath.Join("spool", f.username, u.service, fmt.Sprintf("%d-%s", now.UnixNano(), u.name.Name))
		dst = filepath.Join(g.dataDir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return fail(storageError(g.log, err))
		}
		if err := os.Rename(u.tmp.Name(), dst); err != nil {
			return fail(storageError(g.log, err))
		}
		if g.cfg.Durability == DurabilityPower {
			_ = syncDir(filepath.Dir(dst))
		}
	}
	sub := store.Submission{Username: f.username, CVR: f.cvr, Service: u.service, Name: u.name.Name, Size: u.size,
		SHA256: hex.EncodeToString(u.hash.Sum(nil)), ASCII: u.ascii, Validation: u.name.Validation, Reused: u.reused,
		Session: f.s.id, SpoolPath: rel, ReceivedAt: now, Inline: u.mem}
	deliverAt := now.Add(g.pipeline.backendSettings().DeliverDelay.Std())
	if _, err := g.store.Commit(ctx, u.scope, sub, deliverAt, receipt.NewTransactionID(now)); err != nil {
		if dst != "" {
			_ = os.Remove(dst)
		}
		if !u.reused {
			_ = g.store.Release(ctx, u.scope, u.name.Name, f.s.id)
		}
		return storageError(g.log, fmt.Errorf("recording the upload: %w", err))
	}
	g.pipeline.state.queued.Add(1)
	g.pipeline.kick()
	reason, result := endNote, "accepted"
	if u.reused {
		reason, result = receipt.ErrCodeNameReused, "reused"
		if endNote != "" {
			reason += "; " + endNote
		}
	}
	g.metrics.uploads.WithLabelValues(result).Inc()
	g.metrics.uploadBytes.Add(float64(u.size))
	g.journal.Append(control.Event{Session: f.s.id, Remote: f.s.remote, Username: f.username, Type: control.EventUpload, Path: u.path,
		Size: u.size, ASCII: u.ascii, OK: true, Reason: reason})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// storageError is what the client reads when the gateway could not store an upload: a full
// disk as ftpserverlib's ErrStorageExceeded (552), anything else as a local error; never the
// cause's text, which names server paths. The cause goes to the log.
func storageError(log *slog.Logger, err error) error {
	log.Error("storing an upload failed", "err", err)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &publicError{msg: "the gateway's disk is full; nothing was kept, try again later", is: ftpserver.ErrStorageExceeded}
	}
	return &publicError{msg: "the gateway could not store the upload (its log says why); nothing was kept, try again later"}
}

// publicError is a reply text for the client that still matches its kind with errors.Is.
type publicError struct {
	msg string
	is  error
}

func (e *publicError) Error() string { return e.msg }
func (e *publicError) Unwrap() error { return e.is }

// uploadRoom refuses a new upload while the disk is nearly full or the receipt queue is at
// its bound, and returns what the username's daily quota leaves (-1: no quota).
func (u *uploads) uploadRoom(ctx context.Context, username string, now time.Time) (int64, error) {
	l := u.cfg.Limits
	if l.MinFreeDisk > 0 {
		if free, ok := freeDisk(u.dataDir); ok && free < l.MinFreeDisk {
			u.metrics.limits.WithLabelValues("min_free_disk").Inc()
			return 0, fmt.Errorf("%w: the gateway's disk has less than %d bytes free (limits.min_free_disk); try again later",
				ftpserver.ErrStorageExceeded, l.MinFreeDisk)
		}
	}
	if l.MaxQueue > 0 {
		if n := int(u.pipeline.state.queued.Load()); n >= l.MaxQueue {
			u.metrics.limits.WithLabelValues("max_queue").Inc()
			return 0, fmt.Errorf("%w: %d uploads wait for receipts (limits.max_queue); try again later", ftpserver.ErrStorageExceeded, n)
		}
	}
	if l.DailyQuota <= 0 {
		return -1, nil
	}
	day := now.UTC().Truncate(24 * time.Hour)
	used, err := u.store.BytesSince(ctx, username, day)
	if err != nil {
		return 0, fmt.Errorf("internal error: %w", err)
	}
	if used >= l.DailyQuota {
		u.metrics.limits.WithLabelValues("daily_quota").Inc()
		return 0, fmt.Errorf("%w: %s uploaded %d bytes today, the daily quota is %d (limits.daily_quota)", ftpserver.ErrStorageExceeded, username, used, l.DailyQuota)
	}
	return l.DailyQuota - used, nil
}

// nameRule is the name rule of a service: its own (names.services), else names.default.
func (u *uploads) nameRule(service string) names.Rule {
	if !u.rules.Names.PerServiceRules {
		return names.General
	}
	r := names.Rule(u.cfg.Names.For(service))
	if r == names.General && !u.rules.Names.EnforceCharacterRule {
		return names.Any
	}
	return r
}

// freeDisk is the space an unprivileged writer has left on dir's file system.
func freeDisk(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
