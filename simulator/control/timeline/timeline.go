// Package timeline folds a gateway's journal (control.Event) into what a person reads: one
// row per control connection with its TLS, identity, data connections, transfers, commands
// and replies, and every place where the client broke a gateway rule, in plain words with the
// requirements it touches ("TLS 1.3 offered: refused", GW-TLS-01 and CL-TLS-01). The
// simulator's dashboard shows it. It reads journal events only, so it works on any gateway
// that offers the control API's journal, and imports nothing but control.
package timeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Bounds of one session's lists: a long-lived session that uploads all day keeps its newest
// entries and counts what it let go.
const (
	MaxLines     = 400
	MaxTransfers = 200
	MaxData      = 200
	MaxFindings  = 100
)

// Finding is one thing a client did that a gateway rule is about.
type Finding struct {
	Seq int64 `json:"seq"`
	// Rules are the requirement ids it touches: the gateway's rule first, then the client's.
	Rules []string `json:"rules,omitempty"`
	Text  string   `json:"text"`
	// Broke is true when the client broke the rule; false for a reaction worth seeing that
	// is right (it refused an impostor certificate).
	Broke bool `json:"broke"`
}

// DataConn is one data connection's TLS handshake.
type DataConn struct {
	Seq        int64  `json:"seq"`
	TLSVersion string `json:"tls_version,omitempty"`
	Cipher     string `json:"cipher,omitempty"`
	Resumed    bool   `json:"resumed"`
	OK         bool   `json:"ok"`
	Reason     string `json:"reason,omitempty"`
}

// Transfer is an upload or a download.
type Transfer struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"` // upload | download
	Path string `json:"path"`
	Size int64  `json:"size"`
	// CloseNotify: the upload's TLS data connection ended with close_notify (uploads only).
	CloseNotify bool   `json:"close_notify"`
	ASCII       bool   `json:"ascii"`
	OK          bool   `json:"ok"`
	Reason      string `json:"reason,omitempty"`
}

// Line is a command the client sent (">") or a reply the gateway gave ("<").
type Line struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Dir  string    `json:"dir"`
	Text string    `json:"text"`
	Code int       `json:"code,omitempty"`
}

// Session is one control connection as the journal saw it.
type Session struct {
	ID          string    `json:"id"`
	Remote      string    `json:"remote,omitempty"`
	Listener    string    `json:"listener,omitempty"`
	Username    string    `json:"username,omitempty"` // the login's (accepted or not)
	Identity    string    `json:"identity,omitempty"` // of the client certificate
	Fingerprint string    `json:"fingerprint,omitempty"`
	TLSVersion  string    `json:"tls_version,omitempty"`
	Cipher      string    `json:"cipher,omitempty"`
	TLS         string    `json:"tls"`   // "", "ok" or "refused"
	Login       string    `json:"login"` // "", "ok" or "refused"
	Prot        string    `json:"prot,omitempty"`
	Mode        string    `json:"mode,omitempty"` // passive | active
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended,omitzero"`
	Open        bool      `json:"open"`
	EndReason   string    `json:"end_reason,omitempty"`
	FirstSeq    int64     `json:"first_seq"`
	LastSeq     int64     `json:"last_seq"`

	Data      []DataConn `json:"data"`
	Transfers []Transfer `json:"transfers"`
	Lines     []Line     `json:"lines"`
	Findings  []Finding  `json:"findings"`
	// how many entries each list let go (its bound)
	LinesDropped     int `json:"lines_dropped,omitempty"`
	TransfersDropped int `json:"transfers_dropped,omitempty"`
	DataDropped      int `json:"data_dropped,omitempty"`
	FindingsDropped  int `json:"findings_dropped,omitempty"`
}

// Broke counts the findings where the client broke a rule.
func (s *Session) Broke() int {
	n := 0
	for _, f := range s.Findings {
		if f.Broke {
			n++
		}
	}
	return n
}

// Summary is a copy with only the last n command and reply lines (a row; the whole session
// is asked for when opened).
func (s *Session) Summary(n int) Session {
	c := *s
	c.Data, c.Transfers, c.Findings = slices.Clone(s.Data), slices.Clone(s.Transfers), slices.Clone(s.Findings)
	if len(s.Lines) > n {
		c.Lines = slices.Clone(s.Lines[len(s.Lines)-n:])
		c.LinesDropped += len(s.Lines) - n
	} else {
		c.Lines = slices.Clone(s.Lines)
	}
	return c
}

func bounded[T any](list []T, v T, max int, dropped *int) []T {
	if len(list) >= max {
		n := len(list) - max + 1
		*dropped += n
		list = slices.Delete(list, 0, n)
	}
	return append(list, v)
}

func (s *Session) find(seq int64, text string, broke bool, rules ...string) {
	s.Findings = bounded(s.Findings, Finding{Seq: seq, Rules: rules, Text: text, Broke: broke}, MaxFindings, &s.FindingsDropped)
}

// Apply folds one event of this session into it.
func (s *Session) Apply(e control.Event) {
	if s.FirstSeq == 0 || e.Seq < s.FirstSeq {
		s.FirstSeq = e.Seq
	}
	s.LastSeq = max(s.LastSeq, e.Seq)
	if s.Started.IsZero() {
		s.Started = e.Time
	}
	if e.Remote != "" {
		s.Remote = e.Remote
	}
	if e.Username != "" && s.Username == "" {
		s.Username = e.Username
	}
	switch e.Type {
	case control.EventConnect:
		s.Open = e.OK
		s.Listener = e.Reason
		if !e.OK {
			s.EndReason = e.Reason
			s.find(e.Seq, "connection refused: "+e.Reason, false)
		}
	case control.EventTLS:
		s.TLSVersion, s.Cipher = e.TLSVersion, e.Cipher
		if e.Identity != "" {
			s.Identity, s.Fingerprint = e.Identity, e.Fingerprint
		}
		if e.OK {
			s.TLS = "ok"
			if strings.Contains(e.Reason, "impostor") {
				s.find(e.Seq, "went on with an impostor certificate: "+e.Reason+"; a client must verify the gateway before it sends anything", true, "CL-TLS-04")
			}
			return
		}
		s.TLS = "refused"
		s.tlsRefused(e)
	case control.EventDataTLS:
		d := DataConn{Seq: e.Seq, TLSVersion: e.TLSVersion, Cipher: e.Cipher, Resumed: e.Resumed, OK: e.OK, Reason: e.Reason}
		s.Data = bounded(s.Data, d, MaxData, &s.DataDropped)
		switch {
		case !e.Resumed:
			text := "data connection did not resume the control session"
			if !e.OK {
				text += ": refused (" + e.Reason + ")"
			}
			s.find(e.Seq, text, true, "GW-TLS-04", "CL-TLS-03")
		case !e.OK:
			s.find(e.Seq, "data connection refused: "+e.Reason, true, "GW-TLS-02", "CL-TLS-01")
		}
	case control.EventCommand:
		s.Lines = bounded(s.Lines, Line{Seq: e.Seq, Time: e.Time, Dir: ">", Text: e.Line}, MaxLines, &s.LinesDropped)
		s.command(e)
	case control.EventReply:
		s.Lines = bounded(s.Lines, Line{Seq: e.Seq, Time: e.Time, Dir: "<", Text: e.Line, Code: e.Code}, MaxLines, &s.LinesDropped)
	case control.EventLogin:
		if e.Username != "" {
			s.Username = e.Username
		}
		if e.OK {
			s.Login = "ok"
			return
		}
		s.Login = "refused"
		s.find(e.Seq, "login refused: "+e.Reason, true, "GW-AUTH-01", "CL-AUTH-01")
	case control.EventUpload:
		t := Transfer{Seq: e.Seq, Kind: "upload", Path: e.Path, Size: e.Size, ASCII: e.ASCII, OK: e.OK, Reason: e.Reason,
			CloseNotify: e.OK && !strings.Contains(e.Reason, control.ReasonNoCloseNotify)}
		s.Transfers = bounded(s.Transfers, t, MaxTransfers, &s.TransfersDropped)
		s.upload(e)
	case control.EventDownload:
		s.Transfers = bounded(s.Transfers, Transfer{Seq: e.Seq, Kind: "download", Path: e.Path, Size: e.Size, OK: e.OK, Reason: e.Reason},
			MaxTransfers, &s.TransfersDropped)
	case control.EventDisconnect:
		s.Open, s.Ended = false, e.Time
		if e.Reason != "" {
			s.EndReason = e.Reason
		}
	}
}

func (s *Session) tlsRefused(e control.Event) {
	r := e.Reason
	switch {
	case strings.Contains(r, "unsupported versions"):
		s.find(e.Seq, offeredVersions(r)+" offered: refused (the gateway speaks TLS 1.2 only)", true, "GW-TLS-01", "CL-TLS-01")
	case strings.Contains(r, "protocol version"):
		s.find(e.Seq, "no TLS version in common: refused (the gateway speaks TLS 1.2 only): "+r, true, "GW-TLS-01", "CL-TLS-01")
	case strings.Contains(r, "did not accept the gateway's certificate"):
		// the client refused the certificate it was shown: right for an impostor
		s.find(e.Seq, "the client refused the gateway's certificate: "+r, !strings.Contains(r, "impostor"), "CL-TLS-04")
	case strings.Contains(r, "no client certificate"):
		s.find(e.Seq, "no client certificate presented: refused", true, "GW-TLS-02", "CL-TLS-01")
	case strings.Contains(r, "certificate"):
		s.find(e.Seq, "client certificate refused: "+r, true, "GW-TLS-02", "CL-TLS-01")
	default:
		s.find(e.Seq, "TLS handshake failed: "+strings.TrimPrefix(r, "TLS handshake failed: "), true, "GW-TLS-01", "CL-TLS-01")
	}
}

// offeredVersions names the versions in Go's "client offered only unsupported versions:
// [304 303]" (hexadecimal wire values).
func offeredVersions(reason string) string {
	_, list, ok := strings.Cut(reason, "[")
	list, _, _ = strings.Cut(list, "]")
	if !ok {
		return "an unsupported TLS version"
	}
	var names []string
	for _, f := range strings.Fields(list) {
		v, err := strconv.ParseUint(f, 16, 16)
		if err != nil {
			continue
		}
		names = append(names, versionName(uint16(v)))
	}
	if len(names) == 0 {
		return "an unsupported TLS version"
	}
	return strings.Join(names, " and ")
}

func versionName(v uint16) string {
	switch v {
	case 0x0300:
		return "SSL 3.0"
	case 0x0301, 0x0302, 0x0303, 0x0304:
		return fmt.Sprintf("TLS 1.%d", v-0x0301)
	}
	return fmt.Sprintf("TLS version 0x%04x", v)
}

func (s *Session) command(e control.Event) {
	verb, arg, _ := strings.Cut(strings.TrimSpace(e.Line), " ")
	switch strings.ToUpper(verb) {
	case "PROT":
		s.Prot = strings.ToUpper(strings.TrimSpace(arg))
		if s.Prot == "C" {
			s.find(e.Seq, "asked for clear data connections (PROT C)", true, "GW-TLS-03", "CL-TLS-02")
		}
	case "PASV", "EPSV":
		s.Mode = "passive"
	case "PORT", "EPRT":
		s.Mode = "active"
		s.find(e.Seq, "asked for active mode ("+strings.ToUpper(verb)+"): the gateway offers passive mode only", true, "GW-NET-01", "CL-TLS-02")
	}
}

func (s *Session) upload(e control.Event) {
	switch {
	case !e.OK && strings.Contains(e.Reason, "close_notify"):
		s.find(e.Seq, "upload of "+e.Path+" ended without close_notify: refused, nothing stored", true, "GW-TLS-05", "CL-TLS-02")
	case !e.OK:
		s.find(e.Seq, "upload of "+e.Path+" refused: "+e.Reason, true)
	default:
		if strings.Contains(e.Reason, "FILENAME_CANNOT_BE_REUSED") {
			s.find(e.Seq, "reused the name of an earlier submission ("+e.Path+"): the gateway takes it and answers with status_0", true, "GW-NAME-01", "CL-NAME-01")
		}
		if strings.Contains(e.Reason, control.ReasonNoCloseNotify) {
			s.find(e.Seq, "upload of "+e.Path+" ended without close_notify", true, "GW-TLS-05", "CL-TLS-02")
		}
	}
}

// Folder folds a journal into sessions, the newest max of them kept.
type Folder struct {
	max   int
	byID  map[string]*Session
	order []*Session // by first event, oldest first
	last  int64
}

// NewFolder keeps at most max sessions (the oldest go first).
func NewFolder(max int) *Folder {
	return &Folder{max: max, byID: map[string]*Session{}}
}

// Last is the sequence number of the last event folded.
func (f *Folder) Last() int64 { return f.last }

// Len is the number of sessions kept.
func (f *Folder) Len() int { return len(f.order) }

// Add folds one event and returns the session it belongs to (nil for events of no session:
// receipts). Events are expected in journal order; an older one than the last is ignored.
func (f *Folder) Add(e control.Event) *Session {
	if e.Seq <= f.last {
		return nil
	}
	f.last = e.Seq
	if e.Session == "" {
		return nil
	}
	s := f.byID[e.Session]
	if s == nil {
		s = &Session{ID: e.Session, Open: true}
		f.byID[e.Session] = s
		f.order = append(f.order, s)
		if len(f.order) > f.max {
			delete(f.byID, f.order[0].ID)
			f.order = slices.Delete(f.order, 0, 1)
		}
	}
	s.Apply(e)
	return s
}

// Get returns a session by id.
func (f *Folder) Get(id string) *Session { return f.byID[id] }

// Between returns up to limit sessions with events after from and up to to (a certification
// scenario's part of the journal), newest first, and whether more remain.
func (f *Folder) Between(from, to int64, limit int) ([]*Session, bool) {
	var out []*Session
	for i := len(f.order) - 1; i >= 0; i-- {
		s := f.order[i]
		if s.LastSeq <= from || s.FirstSeq > to {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, s)
	}
	return out, false
}

// Window returns up to limit sessions that began before the event before (0: the newest),
// newest first, and whether older ones remain.
func (f *Folder) Window(before int64, limit int) ([]*Session, bool) {
	var out []*Session
	for i := len(f.order) - 1; i >= 0; i-- {
		s := f.order[i]
		if before > 0 && s.FirstSeq >= before {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, s)
	}
	return out, false
}
