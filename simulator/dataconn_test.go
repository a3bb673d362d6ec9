package simulator

import (
	"net"
	"testing"
)

func TestRecordWatcher(t *testing.T) {
	rec := func(typ byte, body int) []byte {
		return append([]byte{typ, 3, 3, byte(body >> 8), byte(body)}, make([]byte, body)...)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	hello, data, alert := rec(22, 300), rec(23, 16408), rec(21, 26)
	for _, tc := range []struct {
		name       string
		stream     []byte
		clean, tls bool
	}{
		{"close_notify", cat(hello, data, data, alert), true, true},
		{"FIN at a record boundary", cat(hello, data, data), false, true},
		{"FIN inside an alert", cat(hello, data, alert[:10]), false, true},
		{"FIN inside a header", cat(hello, data, alert[:3]), false, true},
		{"clear data", []byte("hello, world"), false, false},
	} {
		for _, chunk := range []int{1, 4, 5, 7, 1000, 1 << 20} {
			w := &recordWatcher{Conn: (*net.TCPConn)(nil)}
			for i := 0; i < len(tc.stream); i += chunk {
				w.observe(tc.stream[i:min(i+chunk, len(tc.stream))])
			}
			if clean, isTLS := w.closedCleanly(); clean != tc.clean || isTLS != tc.tls {
				t.Errorf("%s in chunks of %d: clean %v tls %v", tc.name, chunk, clean, isTLS)
			}
		}
	}
}
