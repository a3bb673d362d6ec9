package store

import (
	"context"
	"database/sql"
	"testing"
)

func cachedCount(t *testing.T, db *sql.DB) int {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := -1
	if err := conn.Raw(func(dc any) error {
		c := dc.(*cachingConn)
		c.mu.Lock()
		defer c.mu.Unlock()
		n = len(c.stmts)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// Statements are prepared once per connection and reused; a statement whose rows are open
// is not reused under them; a failed statement (a constraint) stays usable.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	s, err := openDB(t.TempDir(), "cache.db", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE);`, SyncFull)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := cachedCount(t, s.db)
	for i := 0; i < 50; i++ {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, string(rune('a'+i%26))+string(rune('A'+i/26))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, "aA"); err == nil {
		t.Fatal("a duplicate passed the UNIQUE constraint")
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, "fresh"); err != nil {
		t.Fatalf("the statement after a constraint failure: %v", err)
	}
	if got := cachedCount(t, s.db); got != base+1 {
		t.Fatalf("%d statements cached after 52 runs of one, want %d", got, base+1)
	}

	// rows of a query open while the same query runs again, inside one transaction
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT id, v FROM t WHERE id <= ? ORDER BY id`
	outer, err := tx.QueryContext(ctx, q, 3)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for outer.Next() {
		var id int
		var v string
		if err := outer.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		var inner int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (`+q+`)`, id).Scan(&inner); err != nil || inner != id {
			t.Fatalf("inner count for %d = %d, %v", id, inner, err)
		}
		innerRows, err := tx.QueryContext(ctx, q, 50)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for innerRows.Next() {
			n++
		}
		innerRows.Close()
		if n != 50 {
			t.Fatalf("the same query under open rows gave %d rows, want 50", n)
		}
		seen = append(seen, v)
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if len(seen) != 3 || seen[0] != "aA" || seen[2] != "cA" {
		t.Fatalf("outer rows: %v", seen)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 51 {
		t.Fatalf("count = %d, %v", n, err)
	}
}
