package steps

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features"
)

// The suite under `go test` and under the godog CLI.
//
//	go test ./steps -run TestFeatures                        # against a freshly started `ftpsgw serve`
//	FTPSGW_TARGET=target.yaml go test ./steps -run TestFeatures -godog.tags='~@needs-control'
//	cd steps && FTPSGW_TARGET=../target.yaml godog run ../features
//
// godog's own flags are bound with the prefix "godog." (-godog.tags, -godog.format, …).
var godogOpts = godog.Options{Format: "progress", Strict: true, Concurrency: 1, NoColors: true}

func init() { godog.BindFlags("godog.", flag.CommandLine, &godogOpts) }

var (
	cliOnce  sync.Once
	cliSuite *Suite
	cliErr   error
)

// InitializeScenario is what the godog CLI calls: the target comes from FTPSGW_TARGET.
func InitializeScenario(sc *godog.ScenarioContext) {
	cliOnce.Do(func() {
		path := os.Getenv("FTPSGW_TARGET")
		if path == "" {
			cliErr = fmt.Errorf("set FTPSGW_TARGET to a target profile (see features/target.example.yaml)")
			return
		}
		p, err := LoadProfile(path)
		if err != nil {
			cliErr = err
			return
		}
		cliSuite, cliErr = NewSuite(context.Background(), p)
	})
	if cliErr != nil {
		sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) { return ctx, cliErr })
		return
	}
	cliSuite.InitializeScenario(sc)
}

func TestFeatures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var profile *Profile
	if path := os.Getenv("FTPSGW_TARGET"); path != "" {
		p, err := LoadProfile(path)
		if err != nil {
			t.Fatal(err)
		}
		profile = p
	} else {
		profile = serveForTest(t)
	}
	suite, err := NewSuite(ctx, profile)
	if err != nil {
		t.Fatal(err)
	}
	opts := godogOpts
	opts.TestingT, opts.FS, opts.Paths, opts.Strict, opts.DefaultContext = t, features.FS, []string{"."}, true, ctx
	if opts.Output == nil {
		opts.Output = os.Stdout
	}
	godog.TestSuite{Name: "ftpsgw", ScenarioInitializer: suite.InitializeScenario, Options: &opts}.Run()
	for _, s := range suite.results.scenarios() {
		if s.Status == "UNSUPPORTED" {
			t.Logf("UNSUPPORTED %s: %s", s.Name, s.Unsupported)
		}
	}
}

// serveForTest builds ftpsgw, starts `ftpsgw serve` as a child process the way certification
// wants it, and returns its profile: the suite then works over the network only.
func serveForTest(t *testing.T) *Profile {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "ftpsgw")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ftpsgw").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pki := filepath.Join(dir, "pki")
	if out, err := exec.Command(bin, "pki", "init", "--out", pki).CombinedOutput(); err != nil {
		t.Fatalf("pki init: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("clock: virtual\nsession_reuse: required\nlogin: {max_failures: 100000, window: 15m, lockout: 15m}\n"), 0o644)
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--config", cfg, "--data", data, "--pki", pki, "--listen", "127.0.0.1:0",
		"--control", "127.0.0.1:0", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var ready struct {
		Control      string `json:"control"`
		ControlAPI   string `json:"control_api"`
		PassivePorts string `json:"passive_ports"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(data, "ready.json"))
		if err == nil && json.Unmarshal(b, &ready) == nil && ready.ControlAPI != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ftpsgw serve did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	m, err := certs.LoadManifest(pki)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ProfileFromManifest(m, "ftpsgw serve (child process)", ready.Control, ready.ControlAPI, ready.PassivePorts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
