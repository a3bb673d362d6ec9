package load

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestLoadGoesToLoopbackOnly(t *testing.T) {
	for _, a := range []string{"127.0.0.1:21", "[::1]:21", "localhost:2121"} {
		if err := loopbackOrProfile(a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	t.Setenv("FTPSGW_LOAD_ALLOW_REMOTE", "") // unset for this test
	for _, a := range []string{"192.0.2.1:21", "10.0.0.1:990", "nonsense"} {
		if err := loopbackOrProfile(a); err == nil {
			t.Errorf("%s accepted", a)
		}
	}
}

func TestErrorKindsAndPercentiles(t *testing.T) {
	for err, want := range map[error]string{
		errors.New("550 Permission denied"): "reply 550",
		io.EOF:                              "connection closed",
		&net.OpError{Op: "dial", Err: errors.New("connection refused")}: "connection refused",
	} {
		if got := errorKind(err); got != want {
			t.Errorf("errorKind(%v) = %q, want %q", err, got, want)
		}
	}
	r := &Result{Latencies: []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}}
	if r.Percentile(50) != 5 || r.Percentile(100) != 10 || r.Percentile(0) != 1 {
		t.Errorf("percentiles: p50 %v p100 %v p0 %v", r.Percentile(50), r.Percentile(100), r.Percentile(0))
	}
}

func TestPayloadIsExactAndPrintable(t *testing.T) {
	for _, size := range []int64{0, 1, 80, 1 << 20, 3<<20 + 7} {
		b, err := io.ReadAll(payloadOf(size).reader())
		if err != nil || int64(len(b)) != size {
			t.Fatalf("size %d: read %d (%v)", size, len(b), err)
		}
		for _, c := range b {
			if (c < 'a' || c > 'z') && c != '\n' {
				t.Fatalf("size %d: byte %q is not printable", size, c)
			}
		}
	}
}
