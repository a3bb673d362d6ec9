package load

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestSamplerReadsALiveProcess: the test's own process, busy for a while, is measured with
// CPU above zero.
func TestSamplerReadsALiveProcess(t *testing.T) {
	s := (&Process{PID: os.Getpid()}).sample()
	sum := sha256.Sum256(nil)
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		sum = sha256.Sum256(sum[:])
	}
	u := s.stop()
	if u.Ended || u.CPU <= 0 || u.RSSPeak <= 0 {
		t.Fatalf("a live, busy process: %+v", u)
	}
}

// TestSamplerSaysWhenTheServerEnded: a server that ends during the run is not measured (it
// was read as a negative CPU time: the CPU at the start minus nothing at the end).
func TestSamplerSaysWhenTheServerEnded(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$") // this test binary, running no test: it starts and ends
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // some CPU time spent before the run starts
	s := (&Process{PID: cmd.Process.Pid}).sample()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	u := s.stop()
	if !u.Ended || u.CPU != 0 {
		t.Fatalf("a process that ended during the run: %+v", u)
	}
	// and one that was gone before the run started
	if u := (&Process{PID: cmd.Process.Pid}).sample().stop(); !u.Ended {
		t.Fatalf("a process gone before the run: %+v", u)
	}
}
