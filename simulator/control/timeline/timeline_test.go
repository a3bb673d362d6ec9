package timeline

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// fold folds events of one session "s1", numbering them.
func fold(evs ...control.Event) *Session {
	f := NewFolder(10)
	var s *Session
	for i, e := range evs {
		e.Seq = int64(i + 1)
		e.Session = "s1"
		e.Time = time.Unix(int64(i), 0)
		s = f.Add(e)
	}
	return s
}

func TestFindingsNameTheRuleInPlainWords(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []control.Event
		text   string
		rules  []string
		broke  bool
	}{
		{"TLS 1.3 only", []control.Event{{Type: control.EventTLS, Reason: "TLS handshake failed: tls: client offered only unsupported versions: [304]"}},
			"TLS 1.3 offered: refused", []string{"GW-TLS-01", "CL-TLS-01"}, true},
		{"TLS 1.0 and 1.1", []control.Event{{Type: control.EventTLS, Reason: "TLS handshake failed: tls: client offered only unsupported versions: [302 301]"}},
			"TLS 1.1 and TLS 1.0 offered: refused", []string{"GW-TLS-01", "CL-TLS-01"}, true},
		{"no certificate", []control.Event{{Type: control.EventTLS, Reason: "no client certificate: the gateway requires an OCES certificate"}},
			"no client certificate presented: refused", []string{"GW-TLS-02", "CL-TLS-01"}, true},
		{"impostor accepted", []control.Event{{Type: control.EventTLS, OK: true, Reason: "the client accepted the impostor certificate foreign-ca the gateway presented"}},
			"went on with an impostor certificate", []string{"CL-TLS-04"}, true},
		{"impostor refused", []control.Event{{Type: control.EventTLS, Reason: `the client ended the TLS handshake with the alert "unknown certificate authority": it did not accept the gateway's certificate (the impostor certificate foreign-ca)`}},
			"the client refused the gateway's certificate", []string{"CL-TLS-04"}, false},
		{"genuine certificate refused", []control.Event{{Type: control.EventTLS, Reason: `the client ended the TLS handshake with the alert "bad certificate": it did not accept the gateway's certificate`}},
			"the client refused the gateway's certificate", []string{"CL-TLS-04"}, true},
		{"PROT C", []control.Event{{Type: control.EventCommand, Line: "PROT C"}}, "clear data connections (PROT C)", []string{"GW-TLS-03", "CL-TLS-02"}, true},
		{"active mode", []control.Event{{Type: control.EventCommand, Line: "EPRT |1|127.0.0.1|4000|"}}, "active mode (EPRT)", []string{"GW-NET-01", "CL-TLS-02"}, true},
		{"no resumption", []control.Event{{Type: control.EventDataTLS, OK: true, TLSVersion: "TLS1.2"}},
			"data connection did not resume the control session", []string{"GW-TLS-04", "CL-TLS-03"}, true},
		{"no close_notify", []control.Event{{Type: control.EventUpload, OK: true, Path: "/FTPSGW.Heartbeat/a.txt", Reason: control.ReasonNoCloseNotify}},
			"upload of /FTPSGW.Heartbeat/a.txt ended without close_notify", []string{"GW-TLS-05", "CL-TLS-02"}, true},
		{"truncation refused", []control.Event{{Type: control.EventUpload, Path: "/x/a.txt", Reason: "upload incomplete: the data connection ended without a TLS close_notify, so ..."}},
			"ended without close_notify: refused", []string{"GW-TLS-05", "CL-TLS-02"}, true},
		{"name reused", []control.Event{{Type: control.EventUpload, OK: true, Path: "/x/a.txt", Reason: "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION"}},
			"reused the name", []string{"GW-NAME-01", "CL-NAME-01"}, true},
		{"login refused", []control.Event{{Type: control.EventLogin, Username: "CVR_1", Reason: "wrong password"}},
			"login refused: wrong password", []string{"GW-AUTH-01", "CL-AUTH-01"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fold(tc.events...)
			if len(s.Findings) != 1 {
				t.Fatalf("findings %+v, want one", s.Findings)
			}
			f := s.Findings[0]
			if !strings.Contains(f.Text, tc.text) || !slices.Equal(f.Rules, tc.rules) || f.Broke != tc.broke {
				t.Errorf("finding %+v, want text with %q, rules %v, broke %v", f, tc.text, tc.rules, tc.broke)
			}
		})
	}
}

func TestACarefulSessionBreaksNothing(t *testing.T) {
	s := fold(
		control.Event{Type: control.EventConnect, OK: true, Remote: "127.0.0.1:5000", Reason: "explicit FTPS listener (AUTH TLS)"},
		control.Event{Type: control.EventTLS, OK: true, TLSVersion: "TLS1.2", Cipher: "C", Identity: "CVR:1-RID:2", Fingerprint: "ab"},
		control.Event{Type: control.EventCommand, Line: "USER CVR_1_RID_2"},
		control.Event{Type: control.EventLogin, OK: true, Username: "CVR_1_RID_2"},
		control.Event{Type: control.EventCommand, Line: "PROT P"},
		control.Event{Type: control.EventCommand, Line: "EPSV"},
		control.Event{Type: control.EventDataTLS, OK: true, Resumed: true, TLSVersion: "TLS1.2"},
		control.Event{Type: control.EventUpload, OK: true, Path: "/FTPSGW.Heartbeat/a.txt", Size: 5},
		control.Event{Type: control.EventReply, Line: "226 Closing data connection", Code: 226},
		control.Event{Type: control.EventDisconnect, OK: true},
	)
	if len(s.Findings) != 0 {
		t.Errorf("findings %+v, want none", s.Findings)
	}
	if s.Open || s.TLS != "ok" || s.Login != "ok" || s.Prot != "P" || s.Mode != "passive" || s.Username != "CVR_1_RID_2" ||
		len(s.Data) != 1 || !s.Data[0].Resumed || len(s.Transfers) != 1 || !s.Transfers[0].CloseNotify || len(s.Lines) != 4 ||
		s.FirstSeq != 1 || s.LastSeq != 10 {
		t.Errorf("session %+v", s)
	}
}

func TestBoundsAndWindows(t *testing.T) {
	f := NewFolder(50)
	seq := int64(0)
	for i := range 120 {
		for _, typ := range []control.EventType{control.EventConnect, control.EventCommand, control.EventDisconnect} {
			seq++
			f.Add(control.Event{Seq: seq, Session: fmt.Sprintf("s%03d", i), Type: typ, OK: true, Line: "NOOP"})
		}
	}
	if f.Len() != 50 || f.Get("s069") != nil || f.Get("s070") == nil {
		t.Fatalf("kept %d sessions; s069 %v s070 %v", f.Len(), f.Get("s069") != nil, f.Get("s070") != nil)
	}
	rows, more := f.Window(0, 20)
	if len(rows) != 20 || !more || rows[0].ID != "s119" || rows[19].ID != "s100" {
		t.Fatalf("first window: %d rows, more %v, %s..%s", len(rows), more, rows[0].ID, rows[len(rows)-1].ID)
	}
	rows, more = f.Window(rows[19].FirstSeq, 100)
	if len(rows) != 30 || more || rows[0].ID != "s099" {
		t.Fatalf("second window: %d rows, more %v", len(rows), more)
	}
	// an event older than the last folded is ignored (no double counting on a re-scan)
	if f.Add(control.Event{Seq: 3, Session: "s119", Type: control.EventCommand, Line: "again"}) != nil {
		t.Error("an old event was folded again")
	}
	// one session's lists are bounded
	s := &Session{ID: "long"}
	for i := range MaxLines + 50 {
		s.Apply(control.Event{Seq: int64(i + 1), Type: control.EventCommand, Line: "NOOP"})
	}
	if len(s.Lines) != MaxLines || s.LinesDropped != 50 {
		t.Errorf("lines %d dropped %d", len(s.Lines), s.LinesDropped)
	}
	sum := s.Summary(10)
	if len(sum.Lines) != 10 || sum.LinesDropped != 50+MaxLines-10 || len(s.Lines) != MaxLines {
		t.Errorf("summary lines %d dropped %d", len(sum.Lines), sum.LinesDropped)
	}
}
