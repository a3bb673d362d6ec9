package simulator_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// FuzzFTPCommands sends fuzzed command lines over a logged-in FTPS session to an in-process
// simulator. After each input: the server still serves a new session, nothing was written
// outside its data folder, and inside it nothing exists but the database, the PKI, the
// per-certificate /out and spool folders and an empty tmp.
func FuzzFTPCommands(f *testing.F) {
	for _, s := range []string{"NOOP", "CWD /out\nPWD", "MKD /x", "STOR ../x\nLIST", "RNFR /out/a\nRNTO /b", "SITE CHMOD 777 /",
		"CWD /FTPSGW.Heartbeat\nCWD ..\nCWD ..", "DELE /out/status_x_1.xml", "RETR /etc/passwd", "STAT /\x00", "OPTS UTF8 ON\nCWD /\xff",
		"REST 100\nAPPE /FTPSGW.Heartbeat/a.txt", "PORT 127,0,0,1,0,21", "EPRT |2|::1|21|", "PROT C\nPBSZ 0", "USER x\nPASS y", "AUTH TLS", "ABOR", "QUIT"} {
		f.Add(s)
	}
	parent := f.TempDir()
	data := filepath.Join(parent, "data")
	cfg := simulator.DefaultConfig()
	cfg.Listen, cfg.Control.Listen, cfg.PassivePorts = "127.0.0.1:0", "127.0.0.1:0", "0"
	cfg.Data, cfg.PKI, cfg.Clock = data, sharedPKI(f).Dir(), simulator.ClockVirtual
	cfg.Login.MaxFailures = 1 << 30
	srv, err := simulator.Start(context.Background(), cfg, simulator.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	m := srv.Manifest()
	pool, _ := m.CAPool()
	id, _ := m.Lookup("moces")
	cert, _ := m.ClientCertificate(id)
	opts := ftpsclient.Options{Addr: srv.Ready().Control, ServerName: "localhost", RootCAs: pool, Certificate: &cert, Timeout: 10 * time.Second}
	f.Fuzz(func(t *testing.T, input string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := ftpsclient.DialRaw(ctx, opts)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if _, err := r.AuthTLS(ctx); err != nil {
			r.Close()
			t.Fatalf("AUTH TLS: %v", err)
		}
		if code, msg, err := r.Login(id.Username, id.Password); err != nil || code != 230 {
			r.Close()
			t.Fatalf("login: %d %s %v", code, msg, err)
		}
		for i, line := range strings.Split(input, "\n") {
			if i == 6 {
				break
			}
			// Commands that wait for a data connection would only time out; the transfer
			// paths have tests of their own.
			up := strings.ToUpper(strings.TrimSpace(line))
			if strings.HasPrefix(up, "LIST") || strings.HasPrefix(up, "NLST") || strings.HasPrefix(up, "MLSD") ||
				strings.HasPrefix(up, "RETR") || strings.HasPrefix(up, "STOR") || strings.HasPrefix(up, "APPE") || strings.HasPrefix(up, "STOU") {
				continue
			}
			if _, _, err := r.Cmd("%s", line); err != nil {
				break // the server may close the session on garbage; it must go on serving others
			}
		}
		r.Close()
		// Still serving.
		c, err := ftpsclient.Dial(ctx, opts)
		if err != nil {
			t.Fatalf("after %q the server does not accept a session: %v", input, err)
		}
		if err := c.Login(id.Username, id.Password); err != nil {
			c.Close()
			t.Fatalf("after %q login fails: %v", input, err)
		}
		c.Close()
		// Nothing outside the data folder, nothing unexpected inside it.
		if entries, _ := os.ReadDir(parent); len(entries) != 1 {
			t.Fatalf("after %q the data folder's parent holds %d entries", input, len(entries))
		}
		filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
			rel, _ := filepath.Rel(data, p)
			top := strings.SplitN(rel, string(filepath.Separator), 2)[0]
			switch {
			case rel == ".", top == simulator.DataMarker, top == "spool", top == "tmp" && d.IsDir(), strings.HasPrefix(top, "gateway.db"), top == simulator.ReadyFile, top == simulator.LockFile:
			default:
				t.Errorf("after %q: unexpected %s in the data folder", input, rel)
			}
			return nil
		})
	})
}
