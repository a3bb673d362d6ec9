package main

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// startSlowUpload logs in as moces on a raw connection and starts a STOR, leaving the data
// connection open for the caller to finish.
func startSlowUpload(t *testing.T, srv *child, name string) (*ftpsclient.Raw, net.Conn) {
	t.Helper()
	m, err := certs.LoadManifest(srv.ready.PKI)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := m.CAPool()
	id, _ := m.Lookup("moces")
	cert, _ := m.ClientCertificate(id)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	r, err := ftpsclient.DialRaw(ctx, ftpsclient.Options{Addr: srv.ready.Control, ServerName: "localhost", RootCAs: pool, Certificate: &cert, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := r.AuthTLS(ctx); err != nil {
		t.Fatal(err)
	}
	if code, msg, err := r.Login(id.Username, id.Password); code != 230 {
		t.Fatalf("login: %d %s %v", code, msg, err)
	}
	r.Cmd("PBSZ 0")
	r.Cmd("PROT P")
	r.Cmd("TYPE I")
	data, err := r.OpenData(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if code, msg, err := r.Cmd("STOR /FTPSGW.Heartbeat/%s", name); code != 150 {
		t.Fatalf("STOR: %d %s %v", code, msg, err)
	}
	if _, err := data.Write([]byte("the first part\r\n")); err != nil {
		t.Fatal(err)
	}
	return r, data
}

// waitExit waits for the child to end and returns its exit code.
func waitExit(t *testing.T, srv *child, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case <-done:
		return srv.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("serve did not exit within %s after the signal\n%s", within, srv.stderr.String())
		return -1
	}
}

// On SIGTERM an upload in flight finishes and is filed (226), while new sessions are refused;
// then serve exits 0.
func TestGracefulStopLetsUploadsFinish(t *testing.T) {
	data := t.TempDir()
	srv := serve(t, "--data", data, "--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "off", "--drain", "20s")
	r, conn := startSlowUpload(t, srv, "drain_001.txt")
	srv.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for { // the listener closes at once
		c, err := net.DialTimeout("tcp", srv.ready.Control, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections are still accepted 5 s after SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := conn.Write([]byte("and the rest, after the signal\r\n")); err != nil {
		t.Fatalf("the upload in flight was cut: %v", err)
	}
	conn.Close() // with close_notify
	if code, msg, err := r.ReadReply(); code != 226 {
		t.Fatalf("the upload in flight: %d %s %v", code, msg, err)
	}
	if code := waitExit(t, srv, 10*time.Second); code != 0 {
		t.Errorf("exit %d\n%s", code, srv.stderr.String())
	}
	if !strings.Contains(srv.stderr.String(), "every upload in flight ended") {
		t.Errorf("log does not say the drain ended cleanly:\n%s", srv.stderr.String())
	}
	// Filed, whole: the next start has it.
	again := serve(t, "--data", data, "--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	subs, err := control.NewClient(again.ready.ControlAPI, "").Submissions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len("the first part\r\n") + len("and the rest, after the signal\r\n"))
	if len(subs) != 1 || subs[0].Name != "drain_001.txt" || subs[0].Size != want {
		t.Errorf("after the restart: %+v, want drain_001.txt of %d bytes", subs, want)
	}
}

// A second signal stops at once: the upload in flight is cut and nothing of it is kept.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	data := t.TempDir()
	srv := serve(t, "--data", data, "--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "off", "--drain", "60s")
	_, conn := startSlowUpload(t, srv, "drain_002.txt")
	srv.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	srv.cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	if code := waitExit(t, srv, 10*time.Second); code != 0 {
		t.Errorf("exit %d\n%s", code, srv.stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s after the second signal", d)
	}
	if !strings.Contains(srv.stderr.String(), "1 upload(s) cut short") {
		t.Errorf("stderr does not report the cut upload:\n%s", srv.stderr.String())
	}
	conn.(*tls.Conn).NetConn().Close()
}
