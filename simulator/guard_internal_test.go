package simulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOnlyLoopbackReachesTheControlListener: a request from another address is refused by the
// control API and by the dashboard alike (403, saying why), unless control.allow_remote.
func TestOnlyLoopbackReachesTheControlListener(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, remote := range []bool{false, true} {
		a := &controlAPI{g: &Gateway{core: &core{cfg: Config{Control: ControlSettings{AllowRemote: remote}}}}}
		for _, h := range []struct {
			name    string
			handler http.Handler
			what    string
		}{{"control API", a.guard(ok), "the control API"}, {"dashboard", a.uiGuard(ok), "the dashboard"}} {
			for _, addr := range []string{"192.0.2.7:40000", "[2001:db8::1]:40000", "127.0.0.1:40000", "[::1]:40000", "garbage"} {
				req := httptest.NewRequest(http.MethodGet, "/x", nil)
				req.RemoteAddr = addr
				rec := httptest.NewRecorder()
				h.handler.ServeHTTP(rec, req)
				loopback := strings.HasPrefix(addr, "127.") || strings.HasPrefix(addr, "[::1]")
				want := http.StatusTeapot
				if !remote && !loopback {
					want = http.StatusForbidden
				}
				if rec.Code != want {
					t.Errorf("%s, allow_remote %v, from %s: %d, want %d", h.name, remote, addr, rec.Code, want)
				}
				if want == http.StatusForbidden && !strings.Contains(rec.Body.String(), h.what+" answers loopback clients only") {
					t.Errorf("%s: %s", h.name, rec.Body)
				}
			}
		}
	}
}
