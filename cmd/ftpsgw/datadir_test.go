package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// snapshot is every entry under dir (links not followed) with a checksum of each regular
// file and the target of each link: what a test compares before and after.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, rel+" -> "+target)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			lines = append(lines, rel+" "+hex.EncodeToString(sum[:]))
		default:
			lines = append(lines, rel+"/")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// serveFails runs `ftpsgw serve` expecting it to refuse to start (bounded), and returns its stderr.
func serveFails(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"serve"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("serve %v: want a refusal, got %v (ctx %v)\n%s", args, err, ctx.Err(), stderr.String())
	}
	return stderr.String()
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var listenArgs = []string{"--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "127.0.0.1:0", "--log-level", "info"}

// TestServeRefusesAFolderThatIsNotItsOwn: a non-empty folder without the marker (here one
// shaped like /var: spool/cron/crontabs/root, tmp/, out/) is refused at once with a sentence
// naming it, and not one byte in it changes: no lock file, no database, no deletion.
func TestServeRefusesAFolderThatIsNotItsOwn(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"spool/cron/crontabs/root":    "* * * * * important\n",
		"tmp/upload-0123456789abcdef": "named like a partial upload, but not the simulator's\n",
		"tmp/session.txt":             "x",
		"out/report.pdf":              "a user's report",
		"notes.txt":                   "mine",
	})
	before := snapshot(t, dir)
	msg := serveFails(t, append([]string{"--data", dir}, listenArgs...)...)
	if !strings.Contains(msg, "not an ftpsgw data folder") || !strings.Contains(msg, dir) || !strings.Contains(msg, "--data") {
		t.Errorf("the refusal does not name the folder and what to do:\n%s", msg)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("the folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestServeRefusesALinkedTmpSpoolOrOut: in its own data folder, a tmp, spool or out that is a
// symbolic link is refused at start, and the folder it points to is untouched, although it
// holds files named as the simulator names the files it deletes.
func TestServeRefusesALinkedTmpSpoolOrOut(t *testing.T) {
	for _, sub := range []string{"tmp", "spool", "out"} {
		t.Run(sub, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			c := serve(t, append([]string{"--data", data}, listenArgs...)...)
			c.cmd.Process.Signal(syscall.SIGTERM)
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("first start: %v\n%s", err, c.stderr)
			}
			victim := t.TempDir()
			writeFiles(t, victim, map[string]string{
				"upload-0123456789abcdef":              "looks partial",
				"CVR_1_RID_2/FTPSGW.Heartbeat/1-a.txt": "looks spooled",
				"keep.txt":                             "keep",
			})
			before := snapshot(t, victim)
			os.RemoveAll(filepath.Join(data, sub))
			if err := os.Symlink(victim, filepath.Join(data, sub)); err != nil {
				t.Fatal(err)
			}
			msg := serveFails(t, append([]string{"--data", data}, listenArgs...)...)
			if !strings.Contains(msg, "symbolic link") || !strings.Contains(msg, sub) {
				t.Errorf("the refusal does not say what is wrong:\n%s", msg)
			}
			if after := snapshot(t, victim); after != before {
				t.Errorf("the linked folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestResetRemovesOnlyTheSimulatorsFiles: a reset (what certify sends around every
// @needs-control scenario) removes the spooled upload the database recorded and says how
// many files it removed; a user's files in DIR/out, DIR/spool and DIR/tmp stay.
func TestResetRemovesOnlyTheSimulatorsFiles(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	pkiDir := filepath.Join(t.TempDir(), "pki")
	if code, _, stderr := runCLI("pki", "init", "--out", pkiDir); code != exitOK {
		t.Fatal(stderr)
	}
	m, err := certs.LoadManifest(pkiDir)
	if err != nil {
		t.Fatal(err)
	}
	c := serve(t, append([]string{"--data", data, "--pki", pkiDir}, listenArgs...)...)
	pool, _ := m.CAPool()
	id, _ := m.Lookup("moces")
	cert, _ := m.ClientCertificate(id)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fc, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: c.ready.Control, ServerName: "localhost", RootCAs: pool, Certificate: &cert, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Login(id.Username, id.Password); err != nil {
		t.Fatal(err)
	}
	if err := fc.Upload("/FTPSGW.Heartbeat/reset_big.dat", bytes.Repeat([]byte("x"), 200_000)); err != nil {
		t.Fatal(err)
	}
	fc.Close()
	var spooled []string
	filepath.WalkDir(filepath.Join(data, "spool"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			spooled = append(spooled, p)
		}
		return nil
	})
	if len(spooled) != 1 {
		t.Fatalf("spooled files after one large upload: %v", spooled)
	}
	users := map[string]string{"out/mine.txt": "mine", "spool/notes.txt": "notes", "tmp/draft.txt": "draft", "spool/" + id.Username + "/keep.txt": "keep"}
	writeFiles(t, data, users)
	api := control.NewClient(c.ready.ControlAPI, "")
	if err := api.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(spooled[0]); err == nil {
		t.Errorf("the simulator's spooled upload %s survived the reset", spooled[0])
	}
	for rel, body := range users {
		if b, err := os.ReadFile(filepath.Join(data, rel)); err != nil || string(b) != body {
			t.Errorf("the reset touched the user's %s: %q %v", rel, b, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.stderr.String(), "files_removed=1") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(c.stderr.String(), "files_removed=1") {
		t.Errorf("the reset does not say how many files it removed:\n%s", c.stderr)
	}
	// And a restart, which cleans up after a crash, leaves them too.
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	again := serve(t, append([]string{"--data", data, "--pki", pkiDir}, listenArgs...)...)
	again.cmd.Process.Signal(syscall.SIGTERM)
	again.cmd.Wait()
	for rel, body := range users {
		if b, err := os.ReadFile(filepath.Join(data, rel)); err != nil || string(b) != body {
			t.Errorf("the restart touched the user's %s: %q %v", rel, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(data, simulator.DataMarker)); err != nil {
		t.Errorf("no marker in the data folder: %v", err)
	}
}

// TestServeWarnsWhenTheDiskIsBelowMinFreeDisk: every upload would get 552; the start says so.
func TestServeWarnsWhenTheDiskIsBelowMinFreeDisk(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	os.WriteFile(cfg, []byte("limits:\n  min_free_disk: 9000000000000000000\n"), 0o644)
	c := serve(t, append([]string{"--config", cfg, "--data", data}, listenArgs...)...)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.stderr.String(), "min_free_disk") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(c.stderr.String(), "below limits.min_free_disk") {
		t.Errorf("no warning at start:\n%s", c.stderr)
	}
}
