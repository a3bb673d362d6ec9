package steps

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/steps/certify"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// The suite under `go test` and under the godog CLI.
//
//	go test ./steps -run TestFeatures                        # against a freshly started `ftpsgw serve`
//	FTPSGW_TARGET=$PWD/target.yaml go test ./steps -run TestFeatures -godog.tags='not @needs-control'
//	cd steps && FTPSGW_TARGET=../target.yaml godog run ../features/*.feature
//
// `go test` runs the certification engine, so it fails exactly when `ftpsgw certify` would
// exit non-zero. The godog CLI runs scenarios without the engine: it knows no requirement,
// so a failed SHOULD scenario fails it where certify only warns (README).
var godogOpts = godog.Options{Format: "progress", Strict: true, Concurrency: 1, NoColors: true}

func init() { godog.BindFlags("godog.", flag.CommandLine, &godogOpts) }

var (
	cliOnce  sync.Once
	cliSuite *Suite
	cliErr   error
)

// InitializeScenario is what the godog CLI calls: the target comes from FTPSGW_TARGET. The
// client features (features/client) are certify-client's: a CLI run given them says so.
func InitializeScenario(sc *godog.ScenarioContext) {
	cliOnce.Do(func() {
		p, err := profileFromEnv()
		if err == nil && p == nil {
			err = fmt.Errorf("set FTPSGW_TARGET to a target profile (see features/target.example.yaml)")
		}
		if err != nil {
			cliErr = err
			return
		}
		cliSuite, cliErr = NewSuite(context.Background(), p)
	})
	sc.Before(func(ctx context.Context, scn *godog.Scenario) (context.Context, error) {
		if strings.Contains(filepath.ToSlash(scn.Uri), "client/") {
			return ctx, errors.New("a client-certification scenario: run it with `ftpsgw certify-client`; give godog the gateway features only (../features/*.feature)")
		}
		return ctx, cliErr
	})
	if cliErr == nil {
		cliSuite.InitializeScenario(sc)
	} else {
		(&stateSteps{World: &World{}}).register(sc)
	}
	// the client steps are known, so a client scenario fails with the sentence above, not as undefined
	(&clientSteps{World: &World{}}).register(sc)
}

// profileFromEnv loads FTPSGW_TARGET (nil when unset). A relative path is read from the
// test's folder (steps/ under go test): when it is not there, the error says so.
func profileFromEnv() (*target.Profile, error) {
	path := os.Getenv("FTPSGW_TARGET")
	if path == "" {
		return nil, nil
	}
	p, err := target.LoadProfile(path)
	if err != nil && !filepath.IsAbs(path) && errors.Is(err, fs.ErrNotExist) {
		wd, _ := os.Getwd()
		return nil, fmt.Errorf("FTPSGW_TARGET=%s is relative, and the test runs in %s (go test runs a package's tests in its folder): give an absolute path, e.g. FTPSGW_TARGET=$PWD/%s: %w", path, wd, path, err)
	}
	return p, err
}

// TestFeatures certifies a target with the engine `ftpsgw certify` uses: it fails exactly
// when certify would exit non-zero (FAIL, NOT CERTIFIED, INTERRUPTED), and logs the summary.
func TestFeatures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	profile, err := profileFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if profile == nil {
		profile = serveForTest(t)
	}
	var progress io.Writer // godog's progress, with -v
	if testing.Verbose() {
		progress = os.Stdout
	}
	run, err := certify.Run(ctx, certify.RunOptions{Profile: profile, Features: features.FS, Steps: certify.Bind(Gateway),
		Tags: godogOpts.Tags, Version: "go test", Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	var sum strings.Builder
	reports.WriteSummary(&sum, run)
	if v := run.Verdict(); v != reports.Pass {
		t.Errorf("verdict %s, as ftpsgw certify would give (exit non-zero):\n%s", v, sum.String())
	} else {
		t.Log(sum.String())
	}
}

// serveForTest starts `ftpsgw serve` as a child process the way certification wants it
// (simtest) and returns its profile: the suite then works over the network only.
func serveForTest(t *testing.T) *Profile {
	t.Helper()
	sim := simtest.New(t, simtest.Options{Mode: simtest.ChildProcess, Stderr: os.Stderr})
	p, err := sim.Profile()
	if err != nil {
		t.Fatal(err)
	}
	p.Name = "ftpsgw serve (child process)"
	return p
}
