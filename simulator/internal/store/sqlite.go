package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// sqlDB is one SQLite database file and its meta table (persisted settings). The gateway's
// Store, the security system's SecurityStore and the backend's BackendStore each wrap one,
// with a schema of their own.
type sqlDB struct{ db *sql.DB }

const metaSchema = `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`

// Sync is SQLite's synchronous setting for a database (always in WAL mode): SyncFull commits
// survive a power cut, SyncNormal the process dying (the WAL is in the page cache).
type Sync string

const (
	SyncFull   Sync = "FULL"
	SyncNormal Sync = "NORMAL"
)

// openDB opens (creating if needed) dataDir/file and applies the meta table and schema.
func openDB(dataDir, file, schema string, sync Sync) (sqlDB, error) {
	path := filepath.Join(dataDir, file)
	if sync != SyncNormal {
		sync = SyncFull
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(" + string(sync) + ")&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	connector, err := newCachingConnector(dsn) // pure-Go SQLite (the binary stays static), statements kept prepared
	if err != nil {
		return sqlDB{}, fmt.Errorf("opening %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	// One connection: SQLite serialises writers anyway, and this rules out SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(metaSchema + schema); err != nil {
		db.Close()
		return sqlDB{}, fmt.Errorf("creating the schema in %s: %w", path, err)
	}
	return sqlDB{db: db}, nil
}

// Close closes the database.
func (s sqlDB) Close() error { return s.db.Close() }

// Meta reads a persisted setting.
func (s sqlDB) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// SetMeta persists a setting.
func (s sqlDB) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// MetaTime reads a persisted time.
func (s sqlDB) MetaTime(ctx context.Context, key string) (time.Time, error) {
	v, ok, err := s.Meta(ctx, key)
	if err != nil || !ok {
		return time.Time{}, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return time.Unix(0, n).UTC(), err
}

// SetMetaTime persists a time.
func (s sqlDB) SetMetaTime(ctx context.Context, key string, t time.Time) error {
	return s.SetMeta(ctx, key, strconv.FormatInt(t.UnixNano(), 10))
}

// MetaJSON reads a persisted JSON value into v; it reports whether the key existed.
func (s sqlDB) MetaJSON(ctx context.Context, key string, v any) (bool, error) {
	raw, ok, err := s.Meta(ctx, key)
	if err != nil || !ok {
		return false, err
	}
	return true, json.Unmarshal([]byte(raw), v)
}

// SetMetaJSON persists v as JSON.
func (s sqlDB) SetMetaJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.SetMeta(ctx, key, string(b))
}
