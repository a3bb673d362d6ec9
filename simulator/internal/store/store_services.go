package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// The stores of the gateway's two neighbours. The security system's SecurityStore holds
// security_source, with a version that grows with every change: `ftpsgw security` keeps it in
// security.db, the embedded security system in the gateway's own database. The backend's
// BackendStore (backend_received) is in `ftpsgw backend`'s own backend.db.

const metaSourceVersion = "source_version"

// MetaReplicaVersion is the remote source version the gateway's replica was copied from.
const MetaReplicaVersion = "replica_version"

const securitySchema = `
CREATE TABLE IF NOT EXISTS security_source (
	username      TEXT PRIMARY KEY,
	cvr           TEXT NOT NULL,
	fingerprint   TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	roles         TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
`

const backendSchema = `
CREATE TABLE IF NOT EXISTS backend_received (
	skat_id     TEXT PRIMARY KEY,
	seq         INTEGER NOT NULL,
	username    TEXT NOT NULL,
	service     TEXT NOT NULL,
	name        TEXT NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	ascii       INTEGER NOT NULL,
	verdict     TEXT NOT NULL,
	attempts    INTEGER NOT NULL,
	received_at INTEGER NOT NULL
);
`

// SecurityStore is the security system's registrations and roles (the source the gateway
// replicates from).
type SecurityStore struct{ sqlDB }

// BackendStore is what the backend received.
type BackendStore struct{ sqlDB }

// bumpVersion increments the security source's version inside tx.
func bumpVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1`, metaSourceVersion)
	return err
}

// sourceWrite runs fn and bumps the version in one transaction; n is the rows fn changed.
func (s SecurityStore) sourceWrite(ctx context.Context, fn func(tx *sql.Tx) (int64, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	n, err := fn(tx)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotRegistered
	}
	if err := bumpVersion(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// PutSourceRecord registers a certificate in the security source.
func (s SecurityStore) PutSourceRecord(ctx context.Context, r control.SecurityRecord) error {
	roles, _ := json.Marshal(NonNil(r.Roles))
	return s.sourceWrite(ctx, func(tx *sql.Tx) (int64, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO security_source (username, cvr, fingerprint, password_hash, roles, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET cvr = excluded.cvr, fingerprint = excluded.fingerprint,
				password_hash = excluded.password_hash, roles = excluded.roles`,
			r.Username, r.CVR, strings.ToLower(r.Fingerprint), r.PasswordHash, string(roles), r.CreatedAt.UnixNano())
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// SetSourceRoles changes a certificate's roles in the security system only (and bumps its
// version); the gateway sees them after the next replication.
func (s SecurityStore) SetSourceRoles(ctx context.Context, username string, roles []string) error {
	b, _ := json.Marshal(NonNil(roles))
	return s.sourceWrite(ctx, func(tx *sql.Tx) (int64, error) {
		res, err := tx.ExecContext(ctx, `UPDATE security_source SET roles = ? WHERE username = ?`, string(b), username)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// DeleteSourceRecord removes a registration from the source.
func (s SecurityStore) DeleteSourceRecord(ctx context.Context, username string) error {
	return s.sourceWrite(ctx, func(tx *sql.Tx) (int64, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM security_source WHERE username = ?`, username)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// ResetSource removes every registration from the source.
func (s SecurityStore) ResetSource(ctx context.Context) error {
	return s.sourceWrite(ctx, func(tx *sql.Tx) (int64, error) {
		_, err := tx.ExecContext(ctx, `DELETE FROM security_source`)
		return 1, err
	})
}

// SourceSnapshot returns the source's registrations and version.
func (s SecurityStore) SourceSnapshot(ctx context.Context) (control.SecuritySnapshot, error) {
	snap := control.SecuritySnapshot{Registrations: []control.SecurityRecord{}}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return snap, err
	}
	defer tx.Rollback()
	var v string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaSourceVersion).Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return snap, err
	}
	snap.Version, _ = strconv.ParseInt(v, 10, 64)
	rows, err := tx.QueryContext(ctx, `SELECT username, cvr, fingerprint, password_hash, roles, created_at FROM security_source ORDER BY username`)
	if err != nil {
		return snap, err
	}
	defer rows.Close()
	for rows.Next() {
		var r control.SecurityRecord
		var roles string
		var created int64
		if err := rows.Scan(&r.Username, &r.CVR, &r.Fingerprint, &r.PasswordHash, &roles, &created); err != nil {
			return snap, err
		}
		r.CreatedAt = time.Unix(0, created).UTC()
		if err := json.Unmarshal([]byte(roles), &r.Roles); err != nil {
			return snap, err
		}
		snap.Registrations = append(snap.Registrations, r)
	}
	return snap, rows.Err()
}

// ReplaceReplica replaces the gateway's replica with a snapshot from a remote security
// system, in one transaction.
func (s *Store) ReplaceReplica(ctx context.Context, snap control.SecuritySnapshot) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM registrations`); err != nil {
		return err
	}
	for _, r := range snap.Registrations {
		roles, _ := json.Marshal(NonNil(r.Roles))
		if _, err := tx.ExecContext(ctx, `INSERT INTO registrations (username, cvr, fingerprint, password_hash, roles, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.Username, r.CVR, strings.ToLower(r.Fingerprint), r.PasswordHash, string(roles), r.CreatedAt.UnixNano()); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		MetaReplicaVersion, strconv.FormatInt(snap.Version, 10)); err != nil {
		return err
	}
	return tx.Commit()
}

// Received records a file the backend received, or, when the SkatID is known, counts the
// attempt and returns the first record: delivery is idempotent.
func (s BackendStore) Received(ctx context.Context, d control.BackendDelivery) (control.BackendDelivery, bool, error) {
	verdict, _ := json.Marshal(d.Verdict)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return d, false, err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO backend_received (skat_id, seq, username, service, name, size, sha256, ascii, verdict, attempts, received_at)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM backend_received), ?, ?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (skat_id) DO UPDATE SET attempts = attempts + 1`,
		d.SkatID, d.Username, d.Service, d.Name, d.Size, d.SHA256, d.ASCII, string(verdict), d.ReceivedAt.UnixNano())
	if err != nil {
		return d, false, err
	}
	first, err := queryReceived(ctx, tx, `WHERE skat_id = ?`, d.SkatID)
	if err != nil {
		return d, false, err
	}
	if err := tx.Commit(); err != nil {
		return d, false, err
	}
	return first[0], first[0].Attempts == 1, nil
}

// ReceivedFiles lists what the backend received, oldest first ("" for all, else one SkatID).
func (s BackendStore) ReceivedFiles(ctx context.Context, skatID string) ([]control.BackendDelivery, error) {
	if skatID != "" {
		return queryReceived(ctx, s.db, `WHERE skat_id = ?`, skatID)
	}
	return queryReceived(ctx, s.db, `ORDER BY seq`)
}

// ResetReceived forgets every received file.
func (s BackendStore) ResetReceived(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM backend_received`)
	return err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryReceived(ctx context.Context, q querier, where string, args ...any) ([]control.BackendDelivery, error) {
	rows, err := q.QueryContext(ctx, `SELECT skat_id, username, service, name, size, sha256, ascii, verdict, attempts, received_at FROM backend_received `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []control.BackendDelivery{}
	for rows.Next() {
		var d control.BackendDelivery
		var verdict string
		var at int64
		if err := rows.Scan(&d.SkatID, &d.Username, &d.Service, &d.Name, &d.Size, &d.SHA256, &d.ASCII, &verdict, &d.Attempts, &at); err != nil {
			return nil, err
		}
		d.ReceivedAt = time.Unix(0, at).UTC()
		if err := json.Unmarshal([]byte(verdict), &d.Verdict); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// OpenSecurityStore opens (creating if needed) dataDir/security.db, the store of `ftpsgw security`.
func OpenSecurityStore(dataDir string) (SecurityStore, error) {
	db, err := openDB(dataDir, "security.db", securitySchema, SyncFull)
	return SecurityStore{db}, err
}

// OpenBackendStore opens (creating if needed) dataDir/backend.db, the store of `ftpsgw backend`.
func OpenBackendStore(dataDir string) (BackendStore, error) {
	db, err := openDB(dataDir, "backend.db", backendSchema, SyncFull)
	return BackendStore{db}, err
}
