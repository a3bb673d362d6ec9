package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"

	"modernc.org/sqlite"
)

// The SQLite driver parses and plans every statement it is handed as text, each time: on a
// load of sessions that was 11% of the server's CPU (issue 18: sqlite3Parser and yy_reduce
// under every INSERT of an upload and every query of the receipt loop). The connections are
// therefore wrapped so that Exec and Query run a statement prepared once per connection
// and kept, keyed by its text. The store's statements are a fixed set of constants (values
// are always bound parameters), so the cache is bounded by the code; maxCached bounds it
// anyway. A statement whose rows are still open is not handed out twice: a second query of
// the same text meanwhile gets a statement of its own, closed after it.

const maxCached = 256

// cachingConnector opens the driver's connections and wraps each.
type cachingConnector struct{ driver.Connector }

func newCachingConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{c}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

// driverConn is what the SQLite driver's connection implements, and so what the wrapper
// must too (database/sql falls back to lesser paths for what it hides).
type driverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachedStmt struct {
	stmt interface {
		driver.StmtExecContext
		driver.StmtQueryContext
		Close() error
	}
	busy bool // its rows are open
}

type cachingConn struct {
	conn  driver.Conn
	mu    sync.Mutex // database/sql uses a connection from one goroutine at a time; cheap insurance
	stmts map[string]*cachedStmt
}

var (
	_ driverConn  = (*cachingConn)(nil)
	_ driver.Rows = (*cachedRows)(nil)
)

func (c *cachingConn) inner() (driverConn, error) {
	if dc, ok := c.conn.(driverConn); ok {
		return dc, nil
	}
	return nil, errors.New("the SQLite driver's connection no longer implements the context interfaces")
}

// take returns the cached statement for query, preparing it on first use; fresh is true
// for a statement of its own (the cached one is busy, or the cache is full), which the
// caller closes.
func (c *cachingConn) take(ctx context.Context, query string) (cs *cachedStmt, fresh bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs = c.stmts[query]; cs != nil && !cs.busy {
		return cs, false, nil
	}
	dc, err := c.inner()
	if err != nil {
		return nil, false, err
	}
	st, err := dc.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	s, ok := st.(interface {
		driver.StmtExecContext
		driver.StmtQueryContext
		Close() error
	})
	if !ok {
		st.Close()
		return nil, false, errors.New("the SQLite driver's statement no longer implements the context interfaces")
	}
	cs = &cachedStmt{stmt: s}
	if c.stmts[query] != nil || len(c.stmts) >= maxCached {
		return cs, true, nil
	}
	c.stmts[query] = cs
	return cs, false, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, fresh, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if fresh {
		defer cs.stmt.Close()
	}
	return cs.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, fresh, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		if fresh {
			cs.stmt.Close()
		}
		return nil, err
	}
	c.mu.Lock()
	cs.busy = true
	c.mu.Unlock()
	return &cachedRows{Rows: rows, conn: c, cs: cs, fresh: fresh}, nil
}

// cachedRows gives its statement back when closed.
type cachedRows struct {
	driver.Rows
	conn   *cachingConn
	cs     *cachedStmt
	fresh  bool
	closed bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	if r.fresh {
		if cerr := r.cs.stmt.Close(); err == nil {
			err = cerr
		}
		return err
	}
	r.conn.mu.Lock()
	r.cs.busy = false
	r.conn.mu.Unlock()
	return err
}

func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return errors.Join(append(errs, c.conn.Close())...)
}

// The rest is the driver's own.

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

// Begin is required by driver.Conn; database/sql calls BeginTx.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	dc, err := c.inner()
	if err != nil {
		return nil, err
	}
	return dc.BeginTx(ctx, opts)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	dc, err := c.inner()
	if err != nil {
		return nil, err
	}
	return dc.PrepareContext(ctx, query)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	dc, err := c.inner()
	if err != nil {
		return err
	}
	return dc.Ping(ctx)
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	dc, err := c.inner()
	if err != nil {
		return err
	}
	return dc.ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool {
	dc, err := c.inner()
	return err == nil && dc.IsValid()
}
