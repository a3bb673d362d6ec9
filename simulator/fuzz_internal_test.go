package simulator

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzResolvePath: whatever the client sends, the folder view names only "/", "/out",
// "/out/<file>", "/<role>" or "/<role>/<file>" of this certificate, and nothing else.
func FuzzResolvePath(f *testing.F) {
	for _, s := range []string{"/", "/out", "/out/x.xml", "/FTPSGW.Heartbeat/a.txt", "/../etc/passwd", "/out/../pki",
		"/FTPSGW.Heartbeat/../../x", "/Told.Import/%2e%2e", "/out/\x00", "/\xff\xfe", "//", "/a/b/c", "/out/.", "/FTPSGW.Heartbeat/x\\y"} {
		f.Add(s)
	}
	fo := benchFolders()
	roles := fo.gw.replica.roles.of(fo.username, false)
	f.Fuzz(func(t *testing.T, p string) {
		tg, role, file := fo.resolve(p)
		if tg == tNone {
			return
		}
		if !utf8.ValidString(p) || path.Clean(p) != p || !strings.HasPrefix(p, "/") {
			t.Fatalf("%q (not clean) resolved to %d", p, tg)
		}
		for _, part := range []string{role, file} {
			if part == "." || part == ".." || strings.ContainsAny(part, "/\\\x00%") || strings.ContainsFunc(part, isControl) {
				t.Fatalf("%q resolved to role %q file %q", p, role, file)
			}
		}
		switch tg {
		case tRole, tRoleFile:
			if !slices.Contains(roles, role) {
				t.Fatalf("%q resolved to a role the certificate lacks: %q", p, role)
			}
		case tOut, tOutFile, tRoot:
			if role != "" {
				t.Fatalf("%q: role %q outside a role folder", p, role)
			}
		}
		if want := strings.Count(p, "/"); (tg == tRoleFile || tg == tOutFile) && want != 2 {
			t.Fatalf("%q: a file deeper than one folder", p)
		}
	})
}

// fuzzServer starts one simulator (virtual clock, loopback, temporary data) for a fuzz
// target's runs; it stops when the target ends.
func fuzzServer(f *testing.F) *Server {
	cfg := DefaultConfig()
	cfg.Listen, cfg.Control.Listen, cfg.PassivePorts = "127.0.0.1:0", "127.0.0.1:0", "0"
	cfg.Data, cfg.Clock = f.TempDir(), ClockVirtual
	srv, err := Start(context.Background(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	return srv
}

// FuzzControlAPIJSON: any body on any writing route is answered with 2xx, 4xx or 503 (a
// remote part down), never 500, never a panic, and a refused request changes nothing.
func FuzzControlAPIJSON(f *testing.F) {
	routes := []string{"PUT /backend", "PUT /security", "PUT /faults", "POST /clock/advance", "POST /registrations", "PUT /security/roles/CVR_19552101_RID_60134540"}
	for i := range routes {
		for _, body := range []string{`{}`, `{"up":false}`, `{"by":"1h"}`, `{"reachable":true}`, `{"roles":["FTPSGW.Heartbeat"]}`,
			`{"default":{"action":"reject"}}`, `{"services":{"x":{"action":"accept","delay":"-1s"}}}`, `[]`, `null`, `{"by":"9999999h"}`, "\x00", `{"drop_at_login":101}`} {
			f.Add(uint8(i), []byte(body))
		}
	}
	srv := fuzzServer(f)
	h := srv.gw.api.controlHandler("fuzz")
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		method, p, _ := strings.Cut(routes[int(route)%len(routes)], " ")
		if p == "/clock/advance" {
			return // moving the shared clock forward is legal and would make every later run differ
		}
		before := snapshotAPI(h)
		req := httptest.NewRequest(method, "/control/v1"+p, bytes.NewReader(body))
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: %d %s", method, p, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if after := snapshotAPI(h); after != before {
				t.Fatalf("%s %s %q was refused (%d) but changed state:\n%s\n->\n%s", method, p, body, rec.Code, before, after)
			}
		}
	})
}

// snapshotAPI reads the state the writing routes change.
func snapshotAPI(h http.Handler) string {
	var out strings.Builder
	for _, p := range []string{"/backend", "/security", "/faults", "/registrations"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/control/v1"+p, nil)
		req.RemoteAddr = "127.0.0.1:1234"
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		// next_replication moves with failed attempts; it is not state a request sets.
		s := string(b)
		if i := strings.Index(s, `"next_replication"`); i >= 0 {
			s = s[:i]
		}
		out.WriteString(p + " " + s + "\n")
	}
	return out.String()
}

func TestActiveAddr(t *testing.T) {
	for _, tc := range []struct{ verb, arg, want string }{
		{"PORT", "127,0,0,1,200,10", "127.0.0.1:51210"},
		{"port", " 10,1,2,3,0,21 ", "10.1.2.3:21"},
		{"EPRT", "|1|127.0.0.1|51210|", "127.0.0.1:51210"},
		{"EPRT", "|2|::1|51210|", "[::1]:51210"},
		{"PORT", "1,2,3", ""}, {"PORT", "300,0,0,1,1,1", ""}, {"EPRT", "|1|nohost|1|", ""}, {"EPRT", "", ""}, {"STOR", "x", ""},
	} {
		if got := activeAddr(tc.verb, tc.arg); got != tc.want {
			t.Errorf("activeAddr(%q, %q) = %q, want %q", tc.verb, tc.arg, got, tc.want)
		}
	}
}
