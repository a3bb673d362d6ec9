package simulator_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Every upload is stored byte for byte with the SHA-256 of exactly those bytes, whichever
// path it takes through the gateway: kept in the database (at most 64 KiB), spilled to a
// spool file part-way through, in the spool's 1 MiB chunks (the last one padded for O_DIRECT
// and cut back); sizes on each side of every boundary, over real FTPS.
func TestUploadsAreStoredByteForByte(t *testing.T) {
	h := start(t, nil)
	c := h.login("moces")
	defer c.Close()
	user := h.identity("moces").Username
	sizes := []int{0, 1, 4095, 4096, 4097, 64<<10 - 1, 64 << 10, 64<<10 + 1, 1<<20 - 1, 1 << 20, 1<<20 + 1, 3*(1<<20) + 12345, 9<<20 + 7}
	want := map[string][]byte{}
	for i, n := range sizes {
		data := make([]byte, n)
		rand.Read(data)
		name := fmt.Sprintf("bytes_%d.txt", i+1)
		if err := c.Upload("/FTPSGW.Heartbeat/"+name, data); err != nil {
			t.Fatalf("upload of %d bytes: %v", n, err)
		}
		want[name] = data
	}
	got := map[string]bool{}
	for _, s := range h.submissions(user) {
		data, ok := want[s.Name]
		if !ok {
			continue
		}
		got[s.Name] = true
		sum := sha256.Sum256(data)
		if s.Size != int64(len(data)) || s.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: recorded %d bytes with SHA-256 %s; sent %d bytes with %x", s.Name, s.Size, s.SHA256, len(data), sum)
		}
		if len(data) <= 64<<10 {
			continue // kept in the database, not in a file
		}
		files, _ := filepath.Glob(filepath.Join(h.srv.DataDir(), "spool", user, "*", "*-"+s.Name))
		if len(files) != 1 {
			t.Errorf("%s: %d spool files, want 1", s.Name, len(files))
			continue
		}
		stored, err := os.ReadFile(files[0])
		if err != nil || !bytes.Equal(stored, data) {
			t.Errorf("%s: the spool file holds %d bytes that differ from the %d sent (%v)", s.Name, len(stored), len(data), err)
		}
	}
	if len(got) != len(sizes) {
		t.Errorf("%d of %d uploads recorded", len(got), len(sizes))
	}
}
