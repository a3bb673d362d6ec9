package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
)

// libTap is the slog.Handler given to ftpserverlib. The library logs every command line it
// receives ("Received line") and every reply it sends ("Sending answer") for connections with
// debug on; the tap turns those into journal events (PASS redacted), learns each session's
// passive ports from its 227/229 replies (logged before they are sent, so the mapping exists
// before the client can connect), and tracks TYPE. Nothing of this reaches the user's log: the
// library's debug output would print passwords. Other records pass through to next.
type libTap struct {
	front *front
	next  slog.Handler
	attrs []slog.Attr
}

func (t *libTap) Enabled(ctx context.Context, l slog.Level) bool {
	return l == slog.LevelDebug || t.next.Enabled(ctx, l)
}

func (t *libTap) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "Received line" || r.Message == "Sending answer" {
		id, found := t.clientID(r)
		line := attrString(r, "line")
		if found {
			if r.Message == "Received line" {
				t.front.onCommand(id, line)
			} else {
				t.front.onReply(id, line)
			}
		}
		return nil
	}
	if r.Level == slog.LevelDebug && !t.next.Enabled(ctx, slog.LevelDebug) {
		return nil
	}
	if r.Message == "Network error" || r.Message == "Read error" {
		if id, ok := t.clientID(r); ok && t.front.onStreamError(id, attrString(r, "err")) {
			return nil // journalled and logged as a failed handshake
		}
	}
	if r.Message == "Received line too long, disconnecting client" {
		if id, ok := t.clientID(r); ok {
			t.front.onLineTooLong(id, attrString(r, "size"))
		}
		return nil
	}
	if benignDisconnect(r) {
		if !t.next.Enabled(ctx, slog.LevelDebug) {
			return nil // a client that hung up first: normal, not a warning
		}
		nr := slog.NewRecord(r.Time, slog.LevelDebug, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		r = nr
	}
	if r.Message == "Could not validate active data connection requirement" {
		// refuseActiveMode at work: a rule applied, not a problem with the server.
		nr := slog.NewRecord(r.Time, slog.LevelInfo, "active mode refused: the gateway is passive only (PORT/EPRT answered 501)", r.PC)
		return t.next.WithAttrs(t.attrs).Handle(ctx, nr)
	}
	// Library records go to the user's log with their attributes, never with a command line.
	nr := slog.NewRecord(r.Time, r.Level, "ftp: "+r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "line" && a.Key != "param" {
			nr.AddAttrs(a)
		}
		return true
	})
	return t.next.WithAttrs(t.attrs).Handle(ctx, nr)
}

// clientID is the library's client id of a record (from the logger's or the record's attributes).
func (t *libTap) clientID(r slog.Record) (uint32, bool) {
	var id uint32
	found := false
	for _, a := range t.attrs {
		if a.Key == "clientId" {
			id, found = uint32(a.Value.Uint64()), true
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "clientId" {
			id, found = uint32(a.Value.Uint64()), true
		}
		return true
	})
	return id, found
}

// attrString is a record attribute's text ("" when absent).
func attrString(r slog.Record, key string) string {
	var out string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			out = a.Value.String()
		}
		return true
	})
	return out
}

func (t *libTap) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &libTap{front: t.front, next: t.next, attrs: append(append([]slog.Attr{}, t.attrs...), attrs...)}
}

func (t *libTap) WithGroup(string) slog.Handler { return t }

// redactCommand hides the argument of PASS (and of anything that is not plain text).
func redactCommand(line string) string {
	verb, _, _ := strings.Cut(line, " ")
	if strings.EqualFold(verb, "PASS") {
		return verb + " ****"
	}
	if len(line) > 512 {
		line = line[:512] + "…"
	}
	return strings.ToValidUTF8(line, "\uFFFD")
}

// parseReply splits "229 Entering …" into its code and text.
func parseReply(line string) (int, string) {
	if len(line) < 3 {
		return 0, line
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil {
		return 0, line
	}
	return code, line
}

// passivePort reads the port from a 227 (h1,h2,h3,h4,p1,p2) or 229 (|||port|) reply.
func passivePort(code int, line string) int {
	switch code {
	case 229:
		i := strings.Index(line, "(|||")
		if i < 0 {
			return 0
		}
		rest := line[i+4:]
		j := strings.Index(rest, "|")
		if j < 0 {
			return 0
		}
		p, _ := strconv.Atoi(rest[:j])
		return p
	case 227:
		i, j := strings.Index(line, "("), strings.Index(line, ")")
		if i < 0 || j < i {
			return 0
		}
		parts := strings.Split(line[i+1:j], ",")
		if len(parts) != 6 {
			return 0
		}
		p1, err1 := strconv.Atoi(strings.TrimSpace(parts[4]))
		p2, err2 := strconv.Atoi(strings.TrimSpace(parts[5]))
		if err1 != nil || err2 != nil {
			return 0
		}
		return p1*256 + p2
	}
	return 0
}

// activeAddr is the address of a PORT (h1,h2,h3,h4,p1,p2) or EPRT (|1|ip|port|) argument, "" if none.
func activeAddr(verb, arg string) string {
	arg = strings.TrimSpace(arg)
	switch strings.ToUpper(verb) {
	case "PORT":
		parts := strings.Split(arg, ",")
		if len(parts) != 6 {
			return ""
		}
		var n [6]int
		for i, p := range parts {
			v, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || v < 0 || v > 255 {
				return ""
			}
			n[i] = v
		}
		return net.JoinHostPort(fmt.Sprintf("%d.%d.%d.%d", n[0], n[1], n[2], n[3]), strconv.Itoa(n[4]*256+n[5]))
	case "EPRT":
		if len(arg) < 2 {
			return ""
		}
		f := strings.Split(arg[1:], arg[:1])
		if len(f) < 3 || net.ParseIP(f[1]) == nil {
			return ""
		}
		if p, err := strconv.Atoi(f[2]); err != nil || p <= 0 || p > 65535 {
			return ""
		}
		return net.JoinHostPort(f[1], f[2])
	}
	return ""
}

// benignDisconnect: the library warns when it cannot say goodbye to a client that already
// closed its side (most clients close right after QUIT's reply): a WARN per normal session.
func benignDisconnect(r slog.Record) bool {
	if r.Level != slog.LevelWarn || (r.Message != "Problem disconnecting a client" && r.Message != "Couldn't flush line") {
		return false
	}
	err := attrString(r, "err")
	for _, s := range []string{"broken pipe", "use of closed network connection", "connection reset by peer", "failed to send closeNotify"} {
		if strings.Contains(err, s) {
			return true
		}
	}
	return false
}
