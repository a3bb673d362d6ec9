package steps

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/steps/target"
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
		p, err := target.LoadProfile(path)
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
		p, err := target.LoadProfile(path)
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
	var worlds []*World
	record := func(sc *godog.ScenarioContext) { worlds = append(worlds, suite.Register(sc)) }
	godog.TestSuite{Name: "ftpsgw", ScenarioInitializer: record, Options: &opts}.Run()
	for _, w := range worlds {
		if w.Unsupported() != "" {
			t.Logf("UNSUPPORTED: %s", w.Unsupported())
		}
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
	return p
}
