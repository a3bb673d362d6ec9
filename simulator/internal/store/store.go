// Package store is the simulator's durable state in embedded SQLite databases: the gateway's
// Store, and the small stores of `ftpsgw security` (SecurityStore) and `ftpsgw backend`
// (BackendStore).
package store

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Store is the gateway's durable state in an embedded SQLite database: registrations (who may
// log in, with which certificate and password, holding which roles), the file-name registry,
// and the accepted submissions. Every write is a transaction with synchronous=FULL, so what a
// client was told survives kill -9.
type Store struct {
	sqlDB
	listing *listingCache // what each /out lists (listing.go)

	// verified remembers successful password checks (stored hash + SHA-256 of the
	// password), so a load of logins does not run PBKDF2 each time. Keyed on the stored
	// hash, an entry dies with a re-registration; bounded (cleared when full).
	verifiedMu sync.Mutex
	verified   map[[32]byte]bool
}

// Registration is a certificate registered for the gateway with its password and roles.
type Registration struct {
	Username    string
	CVR         string
	Fingerprint string // SHA-256 of the registered certificate
	Roles       []string
	CreatedAt   time.Time
}

const schema = securitySchema + `
CREATE TABLE IF NOT EXISTS registrations (
	username      TEXT PRIMARY KEY,
	cvr           TEXT NOT NULL,
	fingerprint   TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	roles         TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS names (
	scope_key  TEXT NOT NULL,
	name       TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('reserved','committed')),
	username   TEXT NOT NULL,
	session    TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (scope_key, name)
);
CREATE TABLE IF NOT EXISTS submissions (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	username    TEXT NOT NULL,
	cvr         TEXT NOT NULL,
	service     TEXT NOT NULL,
	name        TEXT NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	ascii       INTEGER NOT NULL,
	validation  INTEGER NOT NULL,
	reused      INTEGER NOT NULL,
	session     TEXT NOT NULL,
	spool_path  TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	content     BLOB
);
CREATE INDEX IF NOT EXISTS submissions_user_time ON submissions (username, received_at);
CREATE TABLE IF NOT EXISTS deliveries (
	submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
	state         TEXT NOT NULL CHECK (state IN ('queued','delivered','accepted','done')),
	next_at       INTEGER NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	skat_id       TEXT NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
-- the unfinished deliveries only: the loop's next due time and due batch, and the queue count,
-- cost what is in flight, not every delivery ever made
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (next_at, submission_id) WHERE state != 'done';
CREATE TABLE IF NOT EXISTS outbox (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	submission_id INTEGER NOT NULL REFERENCES submissions(id),
	username      TEXT NOT NULL,
	kind          TEXT NOT NULL CHECK (kind IN ('receipt','reply')),
	code          INTEGER NOT NULL,
	name          TEXT NOT NULL,
	error_code    TEXT NOT NULL DEFAULT '',
	content       BLOB NOT NULL,
	created_at    INTEGER NOT NULL,
	written       INTEGER NOT NULL DEFAULT 0, -- unused since /out became a view of the rows; kept for existing databases
	deleted_at    INTEGER,
	UNIQUE (submission_id, kind, code)
);
DROP INDEX IF EXISTS outbox_pending;
CREATE INDEX IF NOT EXISTS outbox_user_name ON outbox (username, name);
-- the receipt loop's oldest live receipt and the retention sweep: O(log n), not a scan of every receipt kept
CREATE INDEX IF NOT EXISTS outbox_live_created ON outbox (created_at) WHERE deleted_at IS NULL;
`

// OpenStore opens (creating if needed) dataDir/gateway.db: the gateway's tables, and the
// embedded security system's (security_source), every commit synchronous=FULL.
func OpenStore(dataDir string) (*Store, error) { return OpenStoreSync(dataDir, SyncFull) }

// OpenStoreSync is OpenStore with the database's synchronous setting.
func OpenStoreSync(dataDir string, sync Sync) (*Store, error) {
	db, err := openDB(dataDir, "gateway.db", schema, sync)
	if err != nil {
		return nil, err
	}
	// Databases from before inline uploads lack the content column.
	if _, err := db.db.Exec(`SELECT content FROM submissions LIMIT 0`); err != nil {
		if _, err := db.db.Exec(`ALTER TABLE submissions ADD COLUMN content BLOB`); err != nil {
			db.Close()
			return nil, fmt.Errorf("upgrading %s: %w", filepath.Join(dataDir, "gateway.db"), err)
		}
	}
	return &Store{sqlDB: db, listing: newListingCache()}, nil
}

// Source is the embedded security system's table in the gateway's database.
func (s *Store) Source() SecurityStore { return SecurityStore{s.sqlDB} }

// Recover drops reservations of uploads that never completed (the server stopped mid-transfer):
// their clients were never told 226, so their names are free again.
func (s *Store) Recover(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM names WHERE state = 'reserved'`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CountRegistrations returns how many certificates are registered.
func (s *Store) CountRegistrations(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM registrations`).Scan(&n)
	return n, err
}

// PutRegistration registers (or re-registers) a certificate with a password and roles, in the
// security system and in the gateway's replica at once: a registration takes effect now.
func (s *Store) PutRegistration(ctx context.Context, r Registration, password string, now time.Time) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.PutRegistrationHash(ctx, r, hash, now, "registrations", "security_source")
}

// PutRegistrationHash writes a registration with an already hashed password into tables.
func (s *Store) PutRegistrationHash(ctx context.Context, r Registration, hash string, now time.Time, tables ...string) error {
	roles, _ := json.Marshal(NonNil(r.Roles))
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range tables {
		_, err = tx.ExecContext(ctx, `INSERT INTO `+table+` (username, cvr, fingerprint, password_hash, roles, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET cvr = excluded.cvr, fingerprint = excluded.fingerprint,
				password_hash = excluded.password_hash, roles = excluded.roles`,
			r.Username, r.CVR, strings.ToLower(r.Fingerprint), hash, string(roles), now.UnixNano())
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Replicate copies every registration and its roles from the security system into the
// gateway's replica, in one transaction.
func (s *Store) Replicate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM registrations`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO registrations SELECT username, cvr, fingerprint, password_hash, roles, created_at FROM security_source`); err != nil {
		return err
	}
	return tx.Commit()
}

// ResetAll empties every table, meta included: back to a fresh database. What a reset keeps
// (the virtual clock's time) the caller writes again afterwards.
func (s *Store) ResetAll(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range []string{"outbox", "deliveries", "submissions", "names", "registrations", "security_source", "meta"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return err
		}
	}
	defer s.listing.clear()
	return tx.Commit()
}

// ErrNotRegistered means no certificate is registered under the username.
var ErrNotRegistered = errors.New("not registered")

// Registration returns the registration of a username.
func (s *Store) Registration(ctx context.Context, username string) (Registration, error) {
	var r Registration
	var roles string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT username, cvr, fingerprint, roles, created_at FROM registrations WHERE username = ?`, username).
		Scan(&r.Username, &r.CVR, &r.Fingerprint, &roles, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotRegistered
	}
	if err != nil {
		return r, err
	}
	r.CreatedAt = time.Unix(0, created).UTC()
	err = json.Unmarshal([]byte(roles), &r.Roles)
	return r, err
}

// CheckPassword reports whether password is the registered one for username.
func (s *Store) CheckPassword(ctx context.Context, username, password string) (bool, error) {
	var stored string
	err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM registrations WHERE username = ?`, username).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotRegistered
	}
	if err != nil {
		return false, err
	}
	key := sha256.Sum256([]byte(stored + "\x00" + password))
	s.verifiedMu.Lock()
	ok := s.verified[key]
	s.verifiedMu.Unlock()
	if ok {
		return true, nil
	}
	if !verifyPassword(stored, password) {
		return false, nil
	}
	s.verifiedMu.Lock()
	if s.verified == nil || len(s.verified) >= 4096 {
		s.verified = map[[32]byte]bool{}
	}
	s.verified[key] = true
	s.verifiedMu.Unlock()
	return true, nil
}

// Passwords are stored as PBKDF2-SHA256 with a random salt. The iteration count is modest on
// purpose: these are generated test secrets, and logins must stay cheap under load tests.
const pbkdf2Iterations = 4096

// HashPassword hashes a password for storage (PBKDF2-SHA256, random salt).
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", pbkdf2Iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

func verifyPassword(stored, password string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	var iter int
	if _, err := fmt.Sscanf(parts[1], "%d", &iter); err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && hmac.Equal(got, want)
}

// Name-registry outcomes of Reserve.
var (
	// ErrNameReused: the name completed an upload before, within its scope. Forever.
	ErrNameReused = errors.New("file name was submitted before")
	// ErrNameBusy: another session is uploading the same name right now.
	ErrNameBusy = errors.New("file name is being uploaded by another session")
)

// Reserve claims a name for an upload in progress. Exactly one of two racing sessions wins.
func (s *Store) Reserve(ctx context.Context, scopeKey, name, username, session string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var state string
	err = tx.QueryRowContext(ctx, `SELECT state FROM names WHERE scope_key = ? AND name = ?`, scopeKey, name).Scan(&state)
	switch {
	case err == nil && state == "committed":
		return ErrNameReused
	case err == nil:
		return ErrNameBusy
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO names (scope_key, name, state, username, session, updated_at) VALUES (?, ?, 'reserved', ?, ?, ?)`,
		scopeKey, name, username, session, now.UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// Release frees a reservation whose upload did not complete: no name is burned.
func (s *Store) Release(ctx context.Context, scopeKey, name, session string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM names WHERE scope_key = ? AND name = ? AND state = 'reserved' AND session = ?`,
		scopeKey, name, session)
	return err
}

// Submission is an upload that completed: the client was (or is about to be) told 226.
type Submission struct {
	ID         int64
	Username   string
	CVR        string
	Service    string
	Name       string
	Size       int64
	SHA256     string
	ASCII      bool // uploaded in TYPE A
	Validation bool // val_ prefix: validate only, never file
	Reused     bool // name was submitted before: answered with status_0 FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION
	Session    string
	SpoolPath  string // relative to the data folder; "" for a small upload kept in the database
	ReceivedAt time.Time
	// Inline is the content of a small upload, stored in the database instead of a spool
	// file (Commit only; read it back with Content).
	Inline []byte
}

// Commit records a completed upload, queues its delivery (due at deliverAt, with the
// SKAT transaction id skatID) and, unless it reused a name, burns the name — in one
// transaction, so the registry, the submissions and the queue never disagree.
func (s *Store) Commit(ctx context.Context, scopeKey string, sub Submission, deliverAt time.Time, skatID string) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if !sub.Reused && scopeKey != "" {
		res, err := tx.ExecContext(ctx, `UPDATE names SET state = 'committed', updated_at = ? WHERE scope_key = ? AND name = ? AND session = ? AND state = 'reserved'`,
			sub.ReceivedAt.UnixNano(), scopeKey, sub.Name, sub.Session)
		if err != nil {
			return 0, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return 0, fmt.Errorf("name %q lost its reservation before the upload completed", sub.Name)
		}
	}
	var inline any
	if sub.SpoolPath == "" {
		inline = nonNilBytes(sub.Inline)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO submissions (username, cvr, service, name, size, sha256, ascii, validation, reused, session, spool_path, received_at, content)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sub.Username, sub.CVR, sub.Service, sub.Name, sub.Size, sub.SHA256, sub.ASCII, sub.Validation, sub.Reused,
		sub.Session, sub.SpoolPath, sub.ReceivedAt.UnixNano(), inline)
	if err != nil {
		return 0, err
	}
	id, _ := res.LastInsertId()
	if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (submission_id, state, next_at, attempts, skat_id, updated_at) VALUES (?, 'queued', ?, 0, ?, ?)`,
		id, deliverAt.UnixNano(), skatID, sub.ReceivedAt.UnixNano()); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// Submissions lists completed uploads, oldest first; username "" lists all.
func (s *Store) Submissions(ctx context.Context, username string) ([]Submission, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, username, cvr, service, name, size, sha256, ascii, validation, reused, session, spool_path, received_at
		FROM submissions WHERE ? = '' OR username = ? ORDER BY id`, username, username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Submission
	for rows.Next() {
		var sub Submission
		var at int64
		if err := rows.Scan(&sub.ID, &sub.Username, &sub.CVR, &sub.Service, &sub.Name, &sub.Size, &sub.SHA256,
			&sub.ASCII, &sub.Validation, &sub.Reused, &sub.Session, &sub.SpoolPath, &at); err != nil {
			return nil, err
		}
		sub.ReceivedAt = time.Unix(0, at).UTC()
		out = append(out, sub)
	}
	return out, rows.Err()
}

// NameState returns "committed", "reserved" or "" for a name in a scope.
func (s *Store) NameState(ctx context.Context, scopeKey, name string) (string, error) {
	var state string
	err := s.db.QueryRowContext(ctx, `SELECT state FROM names WHERE scope_key = ? AND name = ?`, scopeKey, name).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return state, err
}

// SpoolPaths returns the spool path of every submission (to find orphaned files at start-up).
func (s *Store) SpoolPaths(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT spool_path FROM submissions`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out[p] = true
	}
	return out, rows.Err()
}

// NonNil returns s, or an empty list for nil (JSON [] rather than null).
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Registrations lists every registration.
func (s *Store) Registrations(ctx context.Context) ([]Registration, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT username, cvr, fingerprint, roles, created_at FROM registrations ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		var r Registration
		var roles string
		var created int64
		if err := rows.Scan(&r.Username, &r.CVR, &r.Fingerprint, &roles, &created); err != nil {
			return nil, err
		}
		r.CreatedAt = time.Unix(0, created).UTC()
		if err := json.Unmarshal([]byte(roles), &r.Roles); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteRegistration removes a registration from the security system and the replica at once.
func (s *Store) DeleteRegistration(ctx context.Context, username string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var total int64
	for _, table := range []string{"registrations", "security_source"} {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE username = ?`, username)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if total == 0 {
		return ErrNotRegistered
	}
	return tx.Commit()
}

// BytesSince sums the sizes of a username's submissions received at or after t.
func (s *Store) BytesSince(ctx context.Context, username string, t time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM submissions WHERE username = ? AND received_at >= ?`,
		username, t.UnixNano()).Scan(&n)
	return n, err
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Content returns the bytes of a submission: its spool file under dataDir, or the content
// kept in the database for a small upload.
func (s *Store) Content(ctx context.Context, dataDir string, sub Submission) ([]byte, error) {
	if sub.SpoolPath != "" {
		return os.ReadFile(filepath.Join(dataDir, sub.SpoolPath))
	}
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT content FROM submissions WHERE id = ? AND content IS NOT NULL`, sub.ID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("submission %d has neither a spool file nor content", sub.ID)
	}
	return b, err
}
