package simulator_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

func TestSessionLimits(t *testing.T) {
	h := start(t, func(c *simulator.Config) {
		c.Limits.MaxSessionsPerAddress = 3
		c.Limits.MaxSessionsPerIdentity = 2
	})
	moces := h.identity("moces")
	var open []*ftpsclient.Client
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := 0; i < 2; i++ {
		open = append(open, h.login("moces"))
	}
	// A third session of the same identity is refused at login, with the reason.
	r, _ := h.raw("moces")
	if code, msg, _ := r.Login(moces.Username, moces.Password); code != 530 || !strings.Contains(msg, "max_sessions_per_identity") {
		t.Fatalf("third session of one identity: %d %q", code, msg)
	}
	r.Close()
	eventually(t, "the refused session is gone", func() bool { return strings.Contains(h.metrics(), "ftpsgw_sessions_active 2\n") })
	// Another identity from the same address still fits (3 per address), then no more.
	open = append(open, h.login("voces"))
	conn, err := net.DialTimeout("tcp", h.srv.Ready().Control, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	if !strings.Contains(string(buf[:n]), "max_sessions_per_address") {
		t.Fatalf("fourth connection from one address: %q", buf[:n])
	}
	// Closing one frees its place.
	open[0].Close()
	open = open[1:]
	eventually(t, "a session place frees up", func() bool {
		c, err := h.dialAs("moces", moces.Username, moces.Password)
		if err != nil {
			return false
		}
		open = append(open, c)
		return true
	})
	if m := h.metrics(); !strings.Contains(m, `ftpsgw_limit_refusals_total{limit="sessions"}`) || !strings.Contains(m, `limit="sessions_per_identity"`) {
		t.Errorf("metrics do not count the refusals:\n%s", grepLines(m, "limit"))
	}
}

func TestUploadSizeAndQuotaLimits(t *testing.T) {
	h := start(t, func(c *simulator.Config) {
		c.Limits.MaxUploadSize = 100 << 10
		c.Limits.DailyQuota = 250 << 10
	})
	c := h.login("moces")
	big := bytes.Repeat([]byte("x"), 200<<10)
	if err := c.Upload("/FTPSGW.Heartbeat/big_1.txt", big); ftpsclient.Code(err) != 552 {
		t.Fatalf("upload over max_upload_size: %v, want 552", err)
	}
	c.Close()
	c = h.login("moces")
	defer c.Close()
	// Nothing kept, name not burned: the same name with a small file is accepted.
	if err := c.Upload("/FTPSGW.Heartbeat/big_1.txt", big[:90<<10]); err != nil {
		t.Fatalf("the name of a refused upload is not free: %v", err)
	}
	if err := c.Upload("/FTPSGW.Heartbeat/q_2.txt", big[:90<<10]); err != nil {
		t.Fatal(err)
	}
	// 180 KiB used of 250: a 90 KiB upload passes the quota mid-transfer.
	if err := c.Upload("/FTPSGW.Heartbeat/q_3.txt", big[:90<<10]); ftpsclient.Code(err) != 552 {
		t.Fatalf("upload past the daily quota: %v, want 552", err)
	}
	if subs := h.submissions(h.identity("moces").Username); len(subs) != 2 {
		t.Fatalf("%d submissions recorded, want 2", len(subs))
	}
	if left := partialUploads(h.srv.DataDir()); len(left) != 0 {
		t.Errorf("partial uploads left in tmp: %v", left)
	}
	// Another certificate has its own quota.
	o := h.login("other-company")
	defer o.Close()
	if err := o.Upload("/"+h.identity("other-company").Roles[0]+"/other_1.txt", big[:90<<10]); err != nil {
		t.Fatalf("another identity's upload: %v", err)
	}
}

func TestStalledTransferIsAborted(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.Limits.TransferStallTimeout = simulator.Duration(time.Second) })
	r := h.rawLogin("moces")
	defer r.Close()
	data, err := r.OpenData(ctx(t), true)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	if code, msg, err := r.Cmd("STOR /FTPSGW.Heartbeat/slow_1.txt"); err != nil || code != 150 {
		t.Fatalf("STOR: %d %q %v", code, msg, err)
	}
	if _, err := data.Write([]byte("first bytes, then nothing")); err != nil {
		t.Fatal(err)
	}
	// The client goes silent. The server gives up after the stall timeout and says so.
	start := time.Now()
	code, msg, err := r.ReadReply()
	if err != nil || code < 400 {
		t.Fatalf("after the stall: %d %q %v", code, msg, err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("the stall was noticed after %s", waited)
	}
	if len(h.submissions(h.identity("moces").Username)) != 0 {
		t.Error("a stalled upload was recorded")
	}
	// The session survives and the name is free.
	c := h.login("moces")
	defer c.Close()
	if err := c.Upload("/FTPSGW.Heartbeat/slow_1.txt", []byte("complete")); err != nil {
		t.Fatalf("the stalled upload's name is not free: %v", err)
	}
}

// TestDiskFull runs the simulator on a 24 MiB tmpfs (needs root to mount; skips otherwise).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): disk-full test skipped", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	h := start(t, func(c *simulator.Config) {
		c.Data = dir
		c.Limits.MinFreeDisk = 0 // let the disk really fill up
	})
	c := h.login("moces")
	defer c.Close()
	huge := bytes.Repeat([]byte("y"), 40<<20)
	if err := c.Upload("/FTPSGW.Heartbeat/full_1.txt", huge); ftpsclient.Code(err) != 552 || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("upload onto a full disk: %v, want 552 saying the disk is full", err)
	} else if strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "upload-") {
		t.Errorf("the reply names a path of the gateway's disk: %v", err)
	}
	if left := partialUploads(dir); len(left) != 0 {
		t.Errorf("partial uploads left: %v", left)
	}
	var st syscall.Statfs_t
	syscall.Statfs(dir, &st)
	if free := int64(st.Bavail) * st.Bsize; free < 10<<20 {
		t.Errorf("only %d bytes free after the failed upload: the partial file was kept", free)
	}
	// Space is back (the partial file is gone): the same name goes through.
	c2 := h.login("moces")
	defer c2.Close()
	if err := c2.Upload("/FTPSGW.Heartbeat/full_1.txt", huge[:1<<20]); err != nil {
		t.Fatalf("after space returned: %v", err)
	}
	// With min_free_disk the refusal comes before any byte is sent.
	h2 := start(t, func(c *simulator.Config) { c.Data = filepath.Join(dir, "second"); c.Limits.MinFreeDisk = 1 << 40 })
	c3 := h2.login("moces")
	defer c3.Close()
	if err := c3.Upload("/FTPSGW.Heartbeat/early_1.txt", []byte("x")); ftpsclient.Code(err) != 552 || !strings.Contains(err.Error(), "min_free_disk") {
		t.Fatalf("upload below min_free_disk: %v", err)
	}
}

func TestIdleControlConnectionIsClosed(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.IdleTimeout = simulator.Duration(time.Second) })
	r := h.rawLogin("moces")
	defer r.Close()
	time.Sleep(2500 * time.Millisecond) // a slow-loris on the control connection: says nothing
	code, _, err := r.Cmd("NOOP")
	if err == nil && code < 400 {
		t.Fatalf("an idle control connection still answers NOOP with %d after the idle timeout", code)
	}
	h.stillServes()
}

func TestQueueBound(t *testing.T) {
	h := start(t, func(c *simulator.Config) { c.Limits.MaxQueue = 2; c.Backend.Up = false })
	c := h.login("moces")
	defer c.Close()
	for _, n := range []string{"q_1.txt", "q_2.txt"} {
		if err := c.Upload("/FTPSGW.Heartbeat/"+n, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Upload("/FTPSGW.Heartbeat/q_3.txt", []byte("x")); ftpsclient.Code(err) != 552 || !strings.Contains(err.Error(), "max_queue") {
		t.Fatalf("upload past max_queue: %v, want 552", err)
	}
	if err := h.api().SetBackendUp(ctx(t), true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queue drains", func() bool {
		hl, err := h.api().Health(ctx(t))
		return err == nil && hl.QueueDepth == 0
	})
	if err := c.Upload("/FTPSGW.Heartbeat/q_3.txt", []byte("x")); err != nil {
		t.Fatalf("after the queue drained, the refused name: %v", err)
	}
}

// partialUploads lists upload temp files in the data folder's tmp (receipts being written
// pass through tmp too, briefly, as outbox-*).
func partialUploads(data string) []string {
	m, _ := filepath.Glob(filepath.Join(data, "tmp", "upload-*"))
	return m
}

// A normal session (login, upload, QUIT, the client hangs up first) logs no WARN at the
// default level (issue 18: the library warned "Problem disconnecting a client" for almost
// every session).
func TestNormalSessionsLogNoWarning(t *testing.T) {
	buf := &syncBuffer{}
	cfg := testConfig(t)
	srv, err := simulator.Start(context.Background(), cfg, simulator.Options{Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := &harness{t: t, srv: srv, m: srv.Manifest(), cfg: cfg, log: buf}
	for i := range 20 {
		c := h.login("moces")
		if err := c.Upload(fmt.Sprintf("/FTPSGW.Heartbeat/quiet_%d.txt", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
		c.Quit()
		c.Close()
	}
	time.Sleep(200 * time.Millisecond) // the server side of the last sessions ends
	if strings.Contains(buf.String(), "level=WARN") || strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("normal sessions logged warnings:\n%s", grepLines(buf.String(), "level=WARN", "level=ERROR"))
	}
}
