package simtest_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/simtest"
)

func TestStartsInEitherMode(t *testing.T) {
	for name, mode := range map[string]simtest.Mode{"in-process": simtest.InProcess, "child": simtest.ChildProcess} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sim, err := simtest.Start(ctx, simtest.Options{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			clock, err := sim.Control.Clock(ctx)
			if err != nil || clock.Mode != "virtual" {
				t.Errorf("clock: %+v %v", clock, err)
			}
			c, err := net.DialTimeout("tcp", sim.FTPS, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			greeting, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if !strings.HasPrefix(greeting, "220") {
				t.Errorf("greeting %q %v", greeting, err)
			}
			if _, ok := sim.Manifest.Lookup("moces"); !ok || sim.PassivePorts != "36000-39999" {
				t.Errorf("manifest or passive range: %v %q", ok, sim.PassivePorts)
			}
			if mode == simtest.ChildProcess && sim.PID == os.Getpid() {
				t.Error("child mode reports this process")
			}
			pid, dir := sim.PID, sim.Dir
			sim.Close()
			sim.Close() // idempotent
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("folder %s left behind", dir)
			}
			if mode == simtest.ChildProcess {
				if err := syscall.Kill(pid, 0); err == nil {
					t.Errorf("child %d still running after Close", pid)
				}
			}
		})
	}
}

func TestChildThatCannotStartIsReported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := simtest.Start(ctx, simtest.Options{Mode: simtest.ChildProcess, Binary: "/bin/false"})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("a child that exits at once: %v", err)
	}
}
