package main

import (
	"crypto/tls"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"

	"github.com/ftpsgw/ftpsgw/certs"
)

// stockServer is a small FTPS server written the way a vendor's gateway might be: ftpserverlib
// over an in-memory file system holding "out" and the identity's service folders, TLS 1.2
// with the test PKI's gateway certificate, any login with a known username and its password.
// It is not the simulator: it has no control API, writes no receipts, and its quirks are
// switched on one at a time to build the targets the verdict rules are tested on.
type stockServer struct {
	Addr     string
	Manifest *certs.Manifest
	srv      *ftpserver.FtpServer
	opts     stockOptions
	tls      *tls.Config
	fs       afero.Fs
	logins   atomic.Int32
}

type stockOptions struct {
	// BackslashPaths: a backslash is a path separator and every path is cleaned inside the root,
	// as a server written for Windows clients might do: CWD \..\.. is answered 250 and
	// lands in "/".
	BackslashPaths bool
	// AllRoles: every user's root holds every identity's service folders (no role filter).
	AllRoles bool
	// DieAfterLogins > 0: the server stops (listener and sessions) after that many logins, as
	// a gateway that crashes in the middle of a certification.
	DieAfterLogins int32
}

func startStockServer(t *testing.T, opts stockOptions) *stockServer {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	p, err := certs.NewPKI(certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := certs.WriteDir(dir, p, false)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := m.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	s := &stockServer{Manifest: m, opts: opts, fs: afero.NewMemMapFs(),
		tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert}}
	for _, id := range m.Identities {
		s.fs.MkdirAll("/"+id.Username+"/out", 0o755)
		for _, other := range m.Identities {
			if other.Name != id.Name && !opts.AllRoles {
				continue
			}
			for _, r := range other.Roles {
				s.fs.MkdirAll("/"+id.Username+"/"+r, 0o755)
			}
		}
	}
	s.srv = ftpserver.NewFtpServer(s)
	if err := s.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	s.Addr = s.srv.Addr()
	go s.srv.Serve()
	t.Cleanup(func() { s.srv.Stop() })
	return s
}

// Profile writes a target profile for the server (no control API, no receipts).
func (s *stockServer) Profile(t *testing.T, extra string) string {
	t.Helper()
	return writeProfile(t, "stock FTPS server", s.Manifest, s.Addr, "30000-60999", "capabilities: {receipts: false}\n"+extra)
}

func (s *stockServer) GetSettings() (*ftpserver.Settings, error) {
	return &ftpserver.Settings{ListenAddr: "127.0.0.1:0", TLSRequired: ftpserver.MandatoryEncryption, DisableActiveMode: true,
		PassiveTransferPortRange: ftpserver.PortRange{Start: 30000, End: 60999}, IdleTimeout: 60, ConnectionTimeout: 10}, nil
}
func (s *stockServer) GetTLSConfig() (*tls.Config, error) { return s.tls, nil }
func (s *stockServer) ClientConnected(ftpserver.ClientContext) (string, error) {
	return "stock FTPS test server", nil
}
func (s *stockServer) ClientDisconnected(ftpserver.ClientContext) {}

func (s *stockServer) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if n := s.logins.Add(1); s.opts.DieAfterLogins > 0 && n >= s.opts.DieAfterLogins {
		go s.srv.Stop()
		return nil, os.ErrPermission
	}
	for _, id := range s.Manifest.Identities {
		if id.Username == user && id.Password == pass {
			// each user's own root: out and its role folders
			var fs afero.Fs = afero.NewBasePathFs(s.fs, "/"+id.Username)
			if s.opts.BackslashPaths {
				fs = backslashFs{fs}
			}
			return fs, nil
		}
	}
	return nil, os.ErrPermission
}

// backslashFs reads a backslash as a slash and cleans every path inside the root.
type backslashFs struct{ afero.Fs }

func bs(name string) string { return path.Clean("/" + strings.ReplaceAll(name, `\`, "/")) }

func (f backslashFs) Stat(name string) (os.FileInfo, error)  { return f.Fs.Stat(bs(name)) }
func (f backslashFs) Open(name string) (afero.File, error)   { return f.Fs.Open(bs(name)) }
func (f backslashFs) Remove(name string) error               { return f.Fs.Remove(bs(name)) }
func (f backslashFs) Mkdir(name string, m os.FileMode) error { return f.Fs.Mkdir(bs(name), m) }
func (f backslashFs) Chtimes(n string, a, b time.Time) error { return f.Fs.Chtimes(bs(n), a, b) }
func (f backslashFs) OpenFile(name string, fl int, m os.FileMode) (afero.File, error) {
	return f.Fs.OpenFile(bs(name), fl, m)
}
