package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runLoadChild runs the built binary's `load` (it starts its own simulator child) and
// returns its JSON result.
func runLoadChild(t *testing.T, args ...string) loadJSON {
	t.Helper()
	out := filepath.Join(t.TempDir(), "load.json")
	cmd := exec.Command(binary(t), append(append([]string{"load"}, args...), "--json", out)...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ftpsgw load %v: %v\n%s", args, err, b)
	}
	var j loadJSON
	data, err := os.ReadFile(out)
	if err != nil || json.Unmarshal(data, &j) != nil {
		t.Fatalf("no JSON result: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), "latency      p50") {
		t.Errorf("no table in the output:\n%s", b)
	}
	return j
}

func TestLoadScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: load runs take a few seconds each")
	}
	s := runLoadChild(t, "--scenario", "sessions", "--concurrency", "4", "--count", "40", "--duration", "60s")
	if s.Ops != 40 || s.ErrorCount != 0 || s.P50ms <= 0 || s.MaxMs < s.P99ms || s.ServerCPUs <= 0 || s.ServerMem <= 0 {
		t.Errorf("sessions: %+v", s)
	}
	u := runLoadChild(t, "--scenario", "upload", "--concurrency", "2", "--count", "4", "--size", "2MiB", "--duration", "60s")
	if u.Ops != 4 || u.ErrorCount != 0 || u.Size != 2<<20 || u.MBPerS <= 0 {
		t.Errorf("upload: %+v", u)
	}
	m := runLoadChild(t, "--scenario", "mixed", "--concurrency", "2", "--count", "10", "--duration", "60s")
	if m.Ops != 10 || m.ErrorCount != 0 {
		t.Errorf("mixed: %+v", m)
	}
	i := runLoadChild(t, "--scenario", "idle", "--concurrency", "30", "--duration", "2s")
	if i.HeldPeak != 30 || i.Ops != 30 || i.ErrorCount != 0 {
		t.Errorf("idle: %+v", i)
	}
	// --receipt-lag waits for a status 1 per upload on the simulator's receipt counter.
	r := runLoadChild(t, "--scenario", "sessions", "--concurrency", "4", "--count", "60", "--duration", "60s", "--receipt-lag")
	if r.Ops != 60 || r.ReceiptsAll == nil || !*r.ReceiptsAll || *r.ReceiptsBehind < 0 || *r.ReceiptsBehind > 60 || *r.ReceiptsLastS < 0 {
		t.Errorf("sessions --receipt-lag: %+v", r)
	}
	l := runLoadChild(t, "--scenario", "list", "--concurrency", "2", "--count", "20", "--duration", "60s", "--dir", "/FTPSGW.Heartbeat")
	if l.Ops != 20 || l.ErrorCount != 0 || l.Entries != 0 {
		t.Errorf("list: %+v", l)
	}
	// A listing below --min-entries is an error, not a fast benchmark of an empty folder.
	cmd := exec.Command(binary(t), "load", "--scenario", "list", "--count", "3", "--duration", "60s", "--min-entries", "5")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitFailure || !strings.Contains(string(out), "fewer than the 5 required") {
		t.Errorf("list of an empty /out with --min-entries 5: exit %d\n%s", code, out)
	}
}

func TestLoadRefusesBadInput(t *testing.T) {
	target := filepath.Join(t.TempDir(), "remote.yaml")
	dir := filepath.Dir(target)
	os.WriteFile(target, []byte("name: remote\naddress: 192.0.2.1:21\nca: ca.pem\nidentities: []\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ca.pem"), []byte{}, 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"load", "--size", "lots"}, exitUsage, "size"},
		{[]string{"load", "--scenario", "stampede", "--target", target}, exitFailure, ""},
		{[]string{"load", "--server-pid", "1"}, exitUsage, "--target"},
		{[]string{"load", "extra"}, exitUsage, "Usage"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: code %d, stderr %q", tc.args, code, stderr)
		}
	}
}
