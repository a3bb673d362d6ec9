// Package ftpsclient is the FTPS client the conformance steps and the tests use against any
// gateway: github.com/jlaffaye/ftp for whole operations, and a raw command client for reply
// codes and protocol violations. Every connection, control and data, carries an absolute
// deadline, so a stalled server fails a test instead of hanging it; each control connection
// has its own TLS session cache, so one connection can never resume another's session.
package ftpsclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"sync"
	"time"

	"github.com/jlaffaye/ftp"
)

// Options describe how to reach a gateway and who to be.
type Options struct {
	Addr       string // host:port of the control connection
	ServerName string // TLS server name; also the session cache key (required for resumption)
	RootCAs    *x509.CertPool
	// Certificate is always sent when set, whatever CA names the server asks for.
	Certificate *tls.Certificate
	Implicit    bool          // implicit FTPS (TLS from the first byte)
	Timeout     time.Duration // deadline of each connection from its dial; default 30s
	MinVersion  uint16        // default and maximum: TLS 1.2
	MaxVersion  uint16
	// SessionCache, when set, holds the TLS sessions (tickets) of the connections; default a
	// fresh cache per client. Tests share one to present another client's ticket.
	SessionCache tls.ClientSessionCache
	// InsecureSkipVerify skips the server certificate check (probes of unknown targets only).
	InsecureSkipVerify bool
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 30 * time.Second
	}
	return o.Timeout
}

// TLSConfig returns a fresh client TLS configuration with its own session cache.
func (o Options) TLSConfig() *tls.Config {
	cfg := &tls.Config{
		ServerName:         o.ServerName,
		RootCAs:            o.RootCAs,
		MinVersion:         o.MinVersion,
		MaxVersion:         o.MaxVersion,
		ClientSessionCache: o.SessionCache,
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // explicit opt-in for probes
	}
	if cfg.ClientSessionCache == nil {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.MaxVersion == 0 {
		cfg.MaxVersion = tls.VersionTLS12
	}
	if o.Certificate != nil {
		cert := o.Certificate
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return cfg
}

// Client is one logged-in (or about to log in) FTPS session through jlaffaye/ftp.
type Client struct {
	*ftp.ServerConn
	opts    Options
	tlsCfg  *tls.Config
	mu      sync.Mutex
	control net.Conn
	data    []*tls.Conn
}

// Dial connects, completes the TLS handshake and returns a client ready for Login.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	c := &Client{opts: opts, tlsCfg: opts.TLSConfig()}
	deadline := time.Now().Add(opts.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	first := true
	dial := func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Deadline: deadline}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		_ = raw.SetDeadline(deadline)
		c.mu.Lock()
		defer c.mu.Unlock()
		if first {
			first = false
			c.control = raw
			if opts.Implicit {
				return tls.Client(raw, c.tlsCfg), nil
			}
			return raw, nil // jlaffaye/ftp upgrades it after AUTH TLS
		}
		tc := tls.Client(raw, c.tlsCfg)
		c.data = append(c.data, tc)
		return tc, nil
	}
	// No DialWithShutTimeout: jlaffaye/ftp then moves the control connection's deadline to
	// now+timeout after every transfer and never restores it, replacing the one set above.
	dialOpts := []ftp.DialOption{ftp.DialWithDialFunc(dial), ftp.DialWithContext(ctx)}
	if opts.Implicit {
		dialOpts = append(dialOpts, ftp.DialWithTLS(c.tlsCfg))
	} else {
		dialOpts = append(dialOpts, ftp.DialWithExplicitTLS(c.tlsCfg))
	}
	sc, err := ftp.Dial(opts.Addr, dialOpts...)
	if err != nil {
		return nil, err
	}
	c.ServerConn = sc
	return c, nil
}

// DataTLS returns the TLS state of every data connection so far (after its handshake).
func (c *Client) DataTLS() []tls.ConnectionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []tls.ConnectionState
	for _, d := range c.data {
		out = append(out, d.ConnectionState())
	}
	return out
}

// Upload stores data under name (a path relative to the current folder).
func (c *Client) Upload(name string, data []byte) error {
	return c.Stor(name, bytes.NewReader(data))
}

// Download reads a whole file.
func (c *Client) Download(name string) ([]byte, error) {
	r, err := c.Retr(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Close ends the session (QUIT) and closes the connection.
func (c *Client) Close() error {
	if c.ServerConn == nil {
		return nil
	}
	err := c.Quit()
	c.mu.Lock()
	if c.control != nil {
		_ = c.control.Close()
	}
	c.mu.Unlock()
	return err
}

// Code returns the FTP reply code carried by err, or 0.
func Code(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// Raw is a command-by-command FTPS client for reply codes and protocol violations.
type Raw struct {
	opts   Options
	tlsCfg *tls.Config
	conn   net.Conn
	tp     *textproto.Conn
	// Greeting is the 220 line.
	Greeting string
	deadline time.Time
}

// DialRaw opens a control connection and reads the greeting. With Implicit, TLS starts at once.
func DialRaw(ctx context.Context, opts Options) (*Raw, error) {
	r := &Raw{opts: opts, tlsCfg: opts.TLSConfig(), deadline: time.Now().Add(opts.timeout())}
	d := net.Dialer{Deadline: r.deadline}
	conn, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(r.deadline)
	r.conn = conn
	if opts.Implicit {
		tc := tls.Client(conn, r.tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		r.conn = tc
	}
	r.tp = textproto.NewConn(r.conn)
	code, msg, err := r.tp.ReadResponse(0)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.Greeting = fmt.Sprintf("%d %s", code, msg)
	return r, nil
}

// Cmd sends one command line and reads the reply; a reply is never an error here.
func (r *Raw) Cmd(format string, args ...any) (int, string, error) {
	id, err := r.tp.Cmd(format, args...)
	if err != nil {
		return 0, "", err
	}
	r.tp.StartResponse(id)
	defer r.tp.EndResponse(id)
	code, msg, err := r.tp.ReadResponse(0)
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Msg, nil
	}
	return code, msg, err
}

// ReadReply reads one more reply (e.g. the 226 after a transfer).
func (r *Raw) ReadReply() (int, string, error) {
	code, msg, err := r.tp.ReadResponse(0)
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Msg, nil
	}
	return code, msg, err
}

// AuthTLS sends AUTH TLS and performs the handshake.
func (r *Raw) AuthTLS(ctx context.Context) (tls.ConnectionState, error) {
	code, msg, err := r.Cmd("AUTH TLS")
	if err != nil {
		return tls.ConnectionState{}, err
	}
	if code != 234 {
		return tls.ConnectionState{}, fmt.Errorf("AUTH TLS answered %d %s", code, msg)
	}
	tc := tls.Client(r.conn, r.tlsCfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, err
	}
	r.conn = tc
	r.tp = textproto.NewConn(tc)
	return tc.ConnectionState(), nil
}

// Login sends USER and PASS and returns the last reply.
func (r *Raw) Login(user, pass string) (int, string, error) {
	code, msg, err := r.Cmd("USER %s", user)
	if err != nil || code != 331 {
		return code, msg, err
	}
	return r.Cmd("PASS %s", pass)
}

// OpenData sends EPSV and connects to the announced port, with TLS when protect is true.
// The returned connection has the control connection's deadline.
func (r *Raw) OpenData(ctx context.Context, protect bool) (net.Conn, error) {
	code, msg, err := r.Cmd("EPSV")
	if err != nil {
		return nil, err
	}
	if code != 229 {
		return nil, fmt.Errorf("EPSV answered %d %s", code, msg)
	}
	var port int
	if i := bytes.Index([]byte(msg), []byte("(|||")); i >= 0 {
		fmt.Sscanf(msg[i+4:], "%d", &port)
	}
	if port == 0 {
		return nil, fmt.Errorf("no port in %q", msg)
	}
	host, _, _ := net.SplitHostPort(r.opts.Addr)
	d := net.Dialer{Deadline: r.deadline}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(r.deadline)
	if !protect {
		return conn, nil
	}
	return tls.Client(conn, r.tlsCfg), nil
}

// ConnectionState returns the control connection's TLS state, if any.
func (r *Raw) ConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := r.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// Close closes the control connection.
func (r *Raw) Close() error { return r.conn.Close() }

// AuthTLSWith is AuthTLS with a caller-made TLS configuration (for cipher and version probes).
func (r *Raw) AuthTLSWith(ctx context.Context, cfg *tls.Config) (tls.ConnectionState, error) {
	r.tlsCfg = cfg
	return r.AuthTLS(ctx)
}

// TLSConfig returns the TLS configuration (and so the session cache) of this control connection.
func (r *Raw) TLSConfig() *tls.Config { return r.tlsCfg }
