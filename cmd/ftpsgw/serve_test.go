package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// binary is ftpsgw built once for the tests that run it as a child process.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := simtest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

type child struct {
	cmd    *exec.Cmd
	ready  simulator.Ready
	stdout *lockedBuffer
	stderr *lockedBuffer
}

// lockedBuffer is written by os/exec's copier while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serve starts `ftpsgw serve` and waits (bounded) for its ready file.
func serve(t *testing.T, args ...string) *child {
	t.Helper()
	var data string
	for i, a := range args {
		if a == "--data" {
			data = args[i+1]
		}
	}
	c := &child{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	c.cmd = exec.Command(binary(t), append([]string{"serve"}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(data, simulator.ReadyFile))
		if err == nil && json.Unmarshal(b, &c.ready) == nil && c.ready.PID == c.cmd.Process.Pid {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("ftpsgw serve did not become ready\nstdout:\n%s\nstderr:\n%s", c.stdout, c.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeDefaultsPrintAWorkingCurlLine(t *testing.T) {
	tool.Need(t, "curl", "curl")
	data := t.TempDir()
	c := serve(t, "--data", data, "--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "127.0.0.1:0")
	// The ready file is written as the listeners open; the welcome text follows it.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.stdout.String(), "curl ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := c.stdout.String()
	if !strings.Contains(out, "created a development PKI") || !strings.Contains(out, "curl ") {
		t.Fatalf("welcome text:\n%s", out)
	}
	// Run the printed lines exactly as a user pasting them would.
	lines := strings.Split(out[strings.Index(out, "echo ping"):], "\n")
	var cmd strings.Builder
	for _, l := range lines {
		cmd.WriteString(strings.TrimSuffix(strings.TrimSpace(l), "\\") + " ")
		if !strings.HasSuffix(strings.TrimSpace(l), "\\") {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := exec.CommandContext(ctx, "bash", "-c", cmd.String()+" -sS --max-time 20").CombinedOutput(); err != nil {
		t.Fatalf("the printed curl line failed: %v\n%s\n%s", err, cmd.String(), res)
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("ftpsgw serve did not stop cleanly on SIGTERM: %v\n%s", err, c.stderr)
	}
	store, err := simulator.OpenStore(data)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	subs, _ := store.Submissions(context.Background(), "")
	if len(subs) != 1 || subs[0].Service != certs.ServiceHeartbeat {
		t.Fatalf("submissions after the curl line: %+v", subs)
	}
}

func TestServeRejectsBadSettings(t *testing.T) {
	for _, args := range [][]string{
		{"--passive-ports", "10-5"},
		{"--listen", "nonsense"},
		{"--config", "/does/not/exist.yaml"},
		{"extra-argument"},
	} {
		code, _, stderr := runCLI(append([]string{"serve"}, args...)...)
		if code == exitOK || stderr == "" {
			t.Errorf("serve %v: code %d, stderr %q", args, code, stderr)
		}
	}
	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfgFile, []byte("listen: 127.0.0.1:0\nunknown_key: 1\n"), 0o644)
	if code, _, stderr := runCLI("serve", "--config", cfgFile); code == exitOK || !strings.Contains(stderr, "unknown_key") {
		t.Errorf("unknown key in the config: code %d, %s", code, stderr)
	}
	os.WriteFile(cfgFile, []byte("session_reuse: sometimes\n"), 0o644)
	if code, _, stderr := runCLI("serve", "--config", cfgFile); code == exitOK || !strings.Contains(stderr, "session_reuse") {
		t.Errorf("bad value in the config: code %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI("serve", "--durability", "forever", "--data", t.TempDir()); code == exitOK || !strings.Contains(stderr, "durability") {
		t.Errorf("bad durability: code %d, %s", code, stderr)
	}
}

// TestKill9DuringUploads kills the server with SIGKILL while 20 clients upload, restarts it
// on the same data folder and checks that what clients were told holds: every 226 has its
// complete file and a burned name; nothing partial is left; no name stays reserved.
// TestKill9DuringUploads: in both durability modes, a kill -9 during 20 parallel uploads loses
// no upload that was answered 226 and keeps none that was not.
func TestKill9DuringUploads(t *testing.T) {
	for _, durability := range []string{"process", "power"} {
		t.Run(durability, func(t *testing.T) { kill9DuringUploads(t, durability) })
	}
}

func kill9DuringUploads(t *testing.T, durability string) {
	data := t.TempDir()
	pkiDir := filepath.Join(t.TempDir(), "pki")
	if code, _, stderr := runCLI("pki", "init", "--out", pkiDir); code != exitOK {
		t.Fatal(stderr)
	}
	m, err := certs.LoadManifest(pkiDir)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--data", data, "--pki", pkiDir, "--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "127.0.0.1:0", "--log-level", "warn",
		"--durability", durability}
	srv := serve(t, args...)
	pool, _ := m.CAPool()
	ids := []string{"moces", "voces", "foces", "other-company", "oces3-org"}

	type result struct {
		name string
		sum  string
		size int
		err  error
	}
	var (
		mu      sync.Mutex
		results []result
		ok226   atomic.Int32
		wg      sync.WaitGroup
	)
	const clients, perClient = 20, 15
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, _ := m.Lookup(ids[i%len(ids)])
			cert, _ := m.ClientCertificate(id)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: srv.ready.Control, ServerName: "localhost", RootCAs: pool,
				Certificate: &cert, Timeout: 60 * time.Second})
			if err != nil {
				return
			}
			defer c.Close()
			if c.Login(id.Username, id.Password) != nil {
				return
			}
			for j := 0; j < perClient; j++ {
				name := fmt.Sprintf("crash_c%02d_f%02d.dat", i, j)
				payload := bytes.Repeat([]byte{byte(i), byte(j)}, 100_000+i*1000+j)
				sum := sha256.Sum256(payload)
				err := c.Upload("/FTPSGW.Heartbeat/"+name, payload)
				mu.Lock()
				results = append(results, result{name, hex.EncodeToString(sum[:]), len(payload), err})
				mu.Unlock()
				if err != nil {
					return
				}
				ok226.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for ok226.Load() < clients*perClient/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	wg.Wait()

	// Restart on the same data folder, then stop it cleanly and inspect what it recovered.
	again := serve(t, args...)
	store, subs := stopAndOpenStore(t, again, data)
	byName := map[string]simulator.Submission{}
	for _, s := range subs {
		if _, dup := byName[s.Name]; dup {
			t.Errorf("%s recorded twice", s.Name)
		}
		byName[s.Name] = s
		b, err := store.Content(context.Background(), data, s)
		sum := sha256.Sum256(b)
		if err != nil || int64(len(b)) != s.Size || hex.EncodeToString(sum[:]) != s.SHA256 {
			t.Errorf("%s: spooled file missing or not what was recorded (%v)", s.Name, err)
		}
	}
	told, failed, committedWithoutReply := 0, 0, 0
	for _, r := range results {
		s, recorded := byName[r.name]
		switch {
		case r.err == nil:
			told++
			if !recorded || s.SHA256 != r.sum || s.Size != int64(r.size) {
				t.Errorf("%s: the client was told 226 but the upload is missing or different", r.name)
			}
			st, _ := store.NameState(context.Background(), "cvr:"+s.CVR, r.name)
			if st != "committed" {
				t.Errorf("%s: told 226 but its name is %q", r.name, st)
			}
		case recorded:
			// Committed, then killed before the 226 left: the client saw a broken connection
			// (never a refusal) and will be answered "reused" if it retries the name.
			committedWithoutReply++
			if ftpsclient.Code(r.err) != 0 {
				t.Errorf("%s: recorded, yet the client got a refusal: %v", r.name, r.err)
			}
		default:
			failed++
		}
	}
	partial, _ := os.ReadDir(filepath.Join(data, "tmp"))
	if len(partial) > 0 {
		t.Errorf("partial files survive the restart: %v", partial)
	}
	spooled := 0
	filepath.Walk(filepath.Join(data, "spool"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			spooled++
		}
		return nil
	})
	if spooled != len(subs) {
		t.Errorf("%d files in the spool, %d submissions", spooled, len(subs))
	}
	if failed == 0 {
		t.Error("the kill came after every upload finished: the test proved nothing")
	}
	t.Logf("uploads told 226: %d, broken by the kill: %d (of which committed before the reply: %d), submissions: %d",
		told, failed+committedWithoutReply, committedWithoutReply, len(subs))
}

// TestKill9WithAFullReceiptQueue fills the queue during a backend outage, lets receipts flow,
// kills the server mid-flow, restarts it and checks every upload got each receipt exactly once.
func TestKill9WithAFullReceiptQueue(t *testing.T) {
	data := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "sim.yaml")
	os.WriteFile(cfgFile, []byte("backend:\n  up: false\n  default: {action: accept, delay: 0s}\n"), 0o644)
	args := []string{"--config", cfgFile, "--data", data, "--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "127.0.0.1:0", "--log-level", "warn"}
	srv := serve(t, args...)
	m, err := certs.LoadManifest(srv.ready.PKI)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := m.CAPool()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const clients, perClient = 20, 5
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, _ := m.Lookup([]string{"moces", "voces", "foces", "other-company"}[i%4])
			cert, _ := m.ClientCertificate(id)
			c, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: srv.ready.Control, ServerName: "localhost", RootCAs: pool, Certificate: &cert})
			if err != nil {
				failures.Add(1)
				return
			}
			defer c.Close()
			if c.Login(id.Username, id.Password) != nil {
				failures.Add(1)
				return
			}
			for j := 0; j < perClient; j++ {
				if c.Upload(fmt.Sprintf("/FTPSGW.Heartbeat/q_c%02d_f%02d.txt", i, j), []byte("queued")) != nil {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d uploads failed before the kill", failures.Load())
	}
	api := control.NewClient(srv.ready.ControlAPI, "")
	if h, err := api.Health(ctx); err != nil || h.QueueDepth != clients*perClient {
		t.Fatalf("queue before the kill: %+v %v", h, err)
	}
	if err := api.SetBackendUp(ctx, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // receipts are being made now
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	atKill := 0
	if store, err := simulator.OpenStore(data); err == nil {
		if files, err := store.Outbox(context.Background(), ""); err == nil {
			atKill = len(files)
		}
		store.Close()
	}

	again := serve(t, args...)
	api = control.NewClient(again.ready.ControlAPI, "")
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := api.Health(ctx)
		if err == nil && h.QueueDepth == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not drain after the restart: %+v %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rs, err := api.Receipts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	perFile := map[string][]int{}
	for _, r := range rs {
		perFile[r.Filename] = append(perFile[r.Filename], r.Code)
	}
	if len(perFile) != clients*perClient {
		t.Errorf("%d uploads have receipts, want %d", len(perFile), clients*perClient)
	}
	for name, codes := range perFile {
		if fmt.Sprint(codes) != "[1 2]" {
			t.Errorf("%s: receipts %v, want exactly [1 2]", name, codes)
		}
	}
	// Each certificate's /out, through FTPS, holds exactly its receipts, with the recorded content.
	for _, idName := range []string{"moces", "voces", "foces", "other-company"} {
		id, _ := m.Lookup(idName)
		cert, _ := m.ClientCertificate(id)
		c, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: again.ready.Control, ServerName: "localhost", RootCAs: pool, Certificate: &cert})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(id.Username, id.Password); err != nil {
			t.Fatal(err)
		}
		entries, err := c.List("/out")
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range rs {
			if r.Username != id.Username {
				continue
			}
			want++
			if b, err := c.Download("/out/" + r.Name); err != nil || string(b) != r.Content {
				t.Errorf("%s/%s through FTPS: %v", r.Username, r.Name, err)
			}
		}
		if len(entries) != want {
			t.Errorf("%s: /out lists %d files, %d receipts recorded", idName, len(entries), want)
		}
		c.Close()
	}
	t.Logf("%d uploads; %d receipts in /out when killed; %d receipts after the restart", len(perFile), atKill, len(rs))
}

// stopAndOpenStore stops a server with SIGTERM (it must exit cleanly) and opens its
// database to inspect what it recorded.
func stopAndOpenStore(t *testing.T, c *child, data string) (*simulator.Store, []simulator.Submission) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("server: %v\n%s", err, c.stderr)
	}
	store, err := simulator.OpenStore(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	subs, err := store.Submissions(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return store, subs
}
