package simulator_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
)

// TestOneOwnerPerDataFolder: a second simulator on a data folder in use refuses at once,
// naming the owner, and changes nothing: the first keeps its ready file and keeps serving;
// once the first stops, the folder can be used again.
func TestOneOwnerPerDataFolder(t *testing.T) {
	h := start(t, nil)
	ready := filepath.Join(h.cfg.Data, simulator.ReadyFile)
	before, err := os.ReadFile(ready)
	if err != nil {
		t.Fatal(err)
	}
	second := h.cfg
	second.Listen, second.Control.Listen = "127.0.0.1:0", "127.0.0.1:0"
	start := time.Now()
	_, err = simulator.Start(context.Background(), second, simulator.Options{})
	if err == nil || !strings.Contains(err.Error(), "in use by ftpsgw serve (pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(err.Error(), h.srv.Ready().Control) {
		t.Fatalf("second owner: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the refusal took %s", took)
	}
	if after, err := os.ReadFile(ready); err != nil || string(after) != string(before) {
		t.Errorf("the second start touched the first's ready file: %v", err)
	}
	if c := h.login("moces"); c == nil {
		t.Error("the first stopped serving")
	}
	h.srv.Close()
	again, err := simulator.Start(context.Background(), second, simulator.Options{})
	if err != nil {
		t.Fatalf("after the owner stopped: %v", err)
	}
	again.Close()
}

// TestListenFailureIsReportedAtOnce: an address in use is an error at once, with the data
// folder free again (the old path waited 10 s for a pipeline loop that never started).
func TestListenFailureIsReportedAtOnce(t *testing.T) {
	h := start(t, nil)
	cfg := testConfig(t)
	cfg.Listen = h.srv.Ready().Control // in use
	start := time.Now()
	_, err := simulator.Start(context.Background(), cfg, simulator.Options{})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("listen on a used address: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the listen failure took %s to report", took)
	}
	cfg.Listen = "127.0.0.1:0"
	srv, err := simulator.Start(context.Background(), cfg, simulator.Options{})
	if err != nil {
		t.Fatalf("the folder was left locked after the failed start: %v", err)
	}
	srv.Close()
}
