package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// TestCrashCampaign kills `ftpsgw serve` with SIGKILL at random moments while uploads,
// receipt generation, replication and /out reads run, N times on one data folder, then
// checks the invariants: every upload told 226 is recorded once with its exact bytes and
// gets each receipt exactly once; nothing partial is left or delivered; the name registry
// matches the submissions; the journal answers. N: FTPSGW_CRASH_ROUNDS (default 5; -short 2).
func TestCrashCampaign(t *testing.T) {
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	if v, err := strconv.Atoi(os.Getenv("FTPSGW_CRASH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("FTPSGW_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("crash campaign: %d rounds, seed %d (FTPSGW_CRASH_SEED to repeat)", rounds, seed)

	data := t.TempDir()
	pkiDir := filepath.Join(t.TempDir(), "pki")
	if code, _, stderr := runCLI("pki", "init", "--out", pkiDir); code != exitOK {
		t.Fatal(stderr)
	}
	m, err := certs.LoadManifest(pkiDir)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "sim.yaml")
	os.WriteFile(cfgFile, []byte("security: {replication_interval: 1s}\nbackend: {default: {action: accept, delay: 150ms}}\nlogin: {max_failures: 100000}\n"), 0o644)
	args := []string{"--config", cfgFile, "--data", data, "--pki", pkiDir, "--listen", "127.0.0.1:0", "--passive-ports", "0",
		"--control", "127.0.0.1:0", "--log-level", "error"}
	pool, _ := m.CAPool()
	ids := []string{"moces", "voces", "foces", "other-company"}

	type result struct {
		user, name, sum string
		err             error
	}
	var results []result
	killsMidUpload := 0
	for round := 1; round <= rounds; round++ {
		srv := serve(t, args...)
		api := control.NewClient(srv.ready.ControlAPI, "")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			stop = make(chan struct{})
		)
		inFlight := 0
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, _ := m.Lookup(ids[w%len(ids)])
				cert, _ := m.ClientCertificate(id)
				c, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: srv.ready.Control, ServerName: "localhost", RootCAs: pool, Certificate: &cert})
				if err != nil {
					return
				}
				defer c.Close()
				if c.Login(id.Username, id.Password) != nil {
					return
				}
				for j := 0; ; j++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("r%02d_w%d_%04d.dat", round, w, j)
					payload := bytes.Repeat([]byte(name), 1000+(w*7919+j*104729)%20000)
					sum := sha256.Sum256(payload)
					mu.Lock()
					inFlight++
					mu.Unlock()
					err := c.Upload("/"+id.Roles[0]+"/"+name, payload)
					mu.Lock()
					inFlight--
					results = append(results, result{id.Username, name, hex.EncodeToString(sum[:]), err})
					mu.Unlock()
					if err != nil {
						return
					}
					if j%5 == 0 {
						_, _ = c.List("/out") // receipts are read while they are written
					}
				}
			}()
		}
		// Role changes keep replication writing the database.
		wg.Add(1)
		go func() {
			defer wg.Done()
			foces, _ := m.Lookup("foces")
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				roles := slices.Clone(foces.Roles)
				if i%2 == 1 {
					roles = append(roles, "Told.Import")
				}
				_ = api.SetRoles(ctx, foces.Username, roles)
			}
		}()
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		mu.Lock()
		if inFlight > 0 {
			killsMidUpload++
		}
		mu.Unlock()
		srv.cmd.Process.Signal(syscall.SIGKILL)
		srv.cmd.Wait()
		close(stop)
		wg.Wait()
		cancel()
	}

	// A last start: recovery, then let every receipt be made.
	srv := serve(t, args...)
	api := control.NewClient(srv.ready.ControlAPI, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		h, err := api.Health(ctx)
		if err == nil && h.QueueDepth == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the receipt queue did not drain after the last restart: %+v %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if j, err := api.Journal(ctx, control.JournalQuery{}); err != nil || len(j.Events) == 0 {
		t.Errorf("the journal does not answer after the campaign: %v", err)
	}
	receipts := map[string][]int{} // user/name -> receipt codes
	for _, id := range ids {
		mi, _ := m.Lookup(id)
		rs, err := api.Receipts(ctx, mi.Username)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Kind != "receipt" {
				continue
			}
			receipts[mi.Username+"/"+r.Filename] = append(receipts[mi.Username+"/"+r.Filename], r.Code)
		}
	}
	store, subs := stopAndOpenStore(t, srv, data)
	recorded := map[string]simulator.Submission{}
	spooled := 0
	for _, s := range subs {
		key := s.Username + "/" + s.Name
		if _, dup := recorded[key]; dup {
			t.Errorf("%s recorded twice", key)
		}
		recorded[key] = s
		if got := receipts[key]; !slices.Equal(got, []int{1, 2}) {
			t.Errorf("%s: receipts %v, want [1 2] exactly once", key, got)
		}
		if st, _ := store.NameState(context.Background(), "cvr:"+s.CVR, s.Name); st != "committed" {
			t.Errorf("%s: recorded, but its name is %q in the registry", key, st)
		}
		b, err := store.Content(context.Background(), data, s)
		sum := sha256.Sum256(b)
		if err != nil || hex.EncodeToString(sum[:]) != s.SHA256 {
			t.Errorf("%s: the stored upload is missing or not what was recorded (%v)", key, err)
		}
		if s.SpoolPath != "" {
			spooled++
		}
	}
	told, broken := 0, 0
	for _, r := range results {
		key := r.user + "/" + r.name
		s, ok := recorded[key]
		if r.err == nil {
			told++
			if !ok || s.SHA256 != r.sum {
				t.Errorf("%s: told 226 but missing or different", key)
			}
			continue
		}
		broken++
		if !ok {
			if len(receipts[key]) != 0 {
				t.Errorf("%s: not recorded, yet it has receipts %v", key, receipts[key])
			}
		}
	}
	if left, _ := os.ReadDir(filepath.Join(data, "tmp")); len(left) != 0 {
		t.Errorf("partial files left: %d", len(left))
	}
	onDisk := 0
	filepath.Walk(filepath.Join(data, "spool"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			onDisk++
		}
		return nil
	})
	if onDisk != spooled {
		t.Errorf("%d files in the spool, %d submissions point at one", onDisk, spooled)
	}
	t.Logf("rounds %d (killed mid-upload in %d), uploads told 226: %d, broken by kills: %d, submissions: %d; invariants checked: "+
		"226 => recorded once with its bytes; each submission receipts [1 2] once; "+
		"name registry = submissions; no partial or orphaned files; journal answers", rounds, killsMidUpload, told, broken, len(subs))
	if told == 0 || killsMidUpload == 0 {
		t.Error("the campaign never killed the server during an upload: it proved nothing")
	}
}
