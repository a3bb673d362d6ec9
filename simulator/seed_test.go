package simulator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
)

// seed_history (benchmarks) leaves the store as the pipeline would: names burned, receipts
// 1 and 2 in /out, well formed (every receipt is validated when the test ends), none expired.
func TestSeedHistory(t *testing.T) {
	h := start(t, func(c *simulator.Config) {
		c.Clock = simulator.ClockVirtual
		c.SeedHistory = simulator.SeedSettings{Uploads: 25}
	})
	c := h.login("moces")
	got := names(t, c, "/out")
	if len(got) != 50 || got[0] != "status_FTPSGW.Heartbeat_hist_0000000.txt_1.xml" {
		t.Fatalf("/out after seeding 25 uploads: %d entries, first %q", len(got), got[0])
	}
	body, err := c.Download("/out/status_FTPSGW.Heartbeat_hist_0000024.txt_2.xml")
	if err != nil || !strings.Contains(string(body), "hist_0000024.txt") {
		t.Fatalf("seeded receipt: %v\n%s", err, body)
	}
	// A seeded name is burned: its reuse is answered with status_0.
	if err := c.Upload("/FTPSGW.Heartbeat/hist_0000003.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	h.api().Advance(ctx(t), 5*time.Second)
	if got := codes(receipts(t, h, "moces"), "hist_0000003.txt"); len(got) != 3 || got[2] != 0 {
		t.Errorf("receipts of a reused seeded name: %v, want 1, 2 then 0", got)
	}
	// The retention sweep keeps them all on the day they were seeded.
	if n := len(names(t, c, "/out")); n != 51 {
		t.Errorf("/out holds %d after the sweep, want 51 (the 50 seeded receipts are within retention, plus the status_0)", n)
	}
	if vs := h.submissions(h.identity("moces").Username); len(vs) != 26 {
		t.Errorf("%d submissions, want 25 seeded + 1", len(vs))
	}
}
