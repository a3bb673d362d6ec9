package simulator

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The pipeline writes exactly the bytes it was given, in order, and hashes all of them
// (the prefix once: the caller hashed it), for writes of every awkward size.
func TestSpoolWriterContentAndHash(t *testing.T) {
	data := make([]byte, 3*chunkSize+12345)
	rand.Read(data)
	type testCase struct {
		name         string
		prefix, step int
		direct       bool
	}
	var cases []testCase
	for _, direct := range []bool{false, true} {
		for _, tc := range []testCase{{"aligned", 0, chunkSize, direct}, {"tls-records", 0, 16 << 10, direct}, {"odd", 7, 1000, direct},
			{"one-write", inlineMax, len(data), direct}, {"single-bytes-tail", 100, 1, direct}} {
			tc.name = fmt.Sprintf("%s/direct=%v", tc.name, direct)
			cases = append(cases, tc)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, direct := spoolFile(t, tc.direct)
			defer f.Close()
			h := sha256.New()
			h.Write(data[:tc.prefix])
			w := newSpoolWriter(f, direct, h, data[:tc.prefix])
			rest := data[tc.prefix:]
			if tc.step == 1 {
				rest = data[tc.prefix : tc.prefix+5000]
			}
			for len(rest) > 0 {
				k := min(tc.step, len(rest))
				if n, err := w.Write(rest[:k]); n != k || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				rest = rest[k:]
			}
			if err := w.finish(); err != nil {
				t.Fatal(err)
			}
			want := data
			if tc.step == 1 {
				want = data[:tc.prefix+5000]
			}
			got, _ := os.ReadFile(f.Name())
			if !bytes.Equal(got, want) {
				t.Fatalf("file holds %d bytes, not the %d written (or in another order)", len(got), len(want))
			}
			if sum := sha256.Sum256(want); !bytes.Equal(h.Sum(nil), sum[:]) {
				t.Error("hash differs from the content's SHA-256")
			}
		})
	}
}

// spoolFile is a temporary upload file: through the page cache, or with O_DIRECT where the
// test's temporary folder allows it (it does on ext4; the test says so when it does not).
func spoolFile(t *testing.T, direct bool) (*os.File, bool) {
	t.Helper()
	if !direct {
		f, err := os.Create(filepath.Join(t.TempDir(), "u"))
		if err != nil {
			t.Fatal(err)
		}
		return f, false
	}
	f, ok, err := createSpoolFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Logf("%s does not take O_DIRECT: the buffered path is tested twice", os.TempDir())
	}
	return f, ok
}

// A failing disk is reported: by a later Write or at the latest by finish, never lost.
func TestSpoolWriterReportsWriteErrors(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "u"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // every write now fails
	w := newSpoolWriter(f, false, sha256.New(), nil)
	buf := make([]byte, chunkSize)
	var werr error
	for i := 0; i < 4*chunkQueue && werr == nil; i++ {
		_, werr = w.Write(buf)
	}
	if ferr := w.finish(); werr == nil && ferr == nil {
		t.Fatal("writes to a closed file reported no error")
	}
}

// Side by side in one run: the old serial path (hash, then write, on one goroutine) and the
// pipeline, without TLS. go test -run XXX -bench Spool ./simulator
func BenchmarkSpool256MiB(b *testing.B) {
	buf := make([]byte, 16<<10) // what one TLS record hands over
	for _, mode := range []string{"serial", "pipeline", "pipeline-direct"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(256 << 20)
			for b.Loop() {
				f, direct, err := createSpoolFile(dir)
				if err != nil {
					b.Fatal(err)
				}
				if mode != "pipeline-direct" {
					f.Close()
					if f, err = os.Create(f.Name()); err != nil {
						b.Fatal(err)
					}
					direct = false
				}
				h := sha256.New()
				if mode == "serial" {
					out := make([]byte, 0, chunkSize)
					for n := 0; n < 256<<20; n += len(buf) {
						h.Write(buf)
						if out = append(out, buf...); len(out) == cap(out) {
							f.Write(out)
							out = out[:0]
						}
					}
				} else {
					w := newSpoolWriter(f, direct, h, nil)
					for n := 0; n < 256<<20; n += len(buf) {
						w.Write(buf)
					}
					w.finish()
				}
				f.Sync()
				f.Close()
				os.Remove(f.Name())
			}
		})
	}
}
