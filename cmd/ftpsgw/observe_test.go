package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/simtest/tool"
)

type observed struct {
	code           int
	stdout, stderr string
	product        string
	results        *reports.Results
}

// observeProduct runs certify-client --observe and, once the connection kit is written, the
// product: a plain script that knows only the kit (examples/products), with env.
func observeProduct(t *testing.T, product []string, env ...string) observed {
	t.Helper()
	kit, rep := filepath.Join(t.TempDir(), "kit"), t.TempDir()
	type res struct {
		code           int
		stdout, stderr string
	}
	done := make(chan res, 1)
	go func() {
		code, so, se := runCLI("certify-client", "--observe", "--kit", kit, "--duration", "150s", "--settle", "5s", "--report", rep, "--key", "ecdsa")
		done <- res{code, so, se}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(kit, "connection.json")); err == nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("certify-client --observe ended before writing the kit: %d\n%s\n%s", r.code, r.stdout, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection kit after 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var out []byte
	if product != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, product[0], product[1:]...)
		cmd.Env = append(os.Environ(), append([]string{"KIT=" + kit, "ROUNDS=24", "INTERVAL=0.5"}, env...)...)
		out, _ = cmd.CombinedOutput()
	}
	var r res
	select {
	case r = <-done:
	case <-time.After(200 * time.Second):
		t.Fatalf("certify-client --observe did not end; the product said:\n%s", out)
	}
	o := observed{code: r.code, stdout: r.stdout, stderr: r.stderr, product: string(out)}
	var err error
	if o.results, err = reports.ReadResults(rep); err != nil {
		t.Fatalf("results.json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	for _, f := range []string{"junit.xml", "report.html", "cucumber.json"} {
		if _, err := os.Stat(filepath.Join(rep, f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}
	return o
}

func statuses(r *reports.Results) map[string]string {
	out := map[string]string{}
	for _, req := range r.Requirements {
		out[string(req.ID)] = string(req.Status)
	}
	return out
}

// notPassingIDs lists "ID=STATUS" for every requirement that is not PASS.
func notPassingIDs(r *reports.Results) []string {
	var out []string
	for _, req := range r.Requirements {
		if req.Status != reports.Pass {
			out = append(out, fmt.Sprintf("%s=%s", req.ID, req.Status))
		}
	}
	slices.Sort(out)
	return out
}

func logObservation(t *testing.T, o observed) {
	t.Helper()
	t.Logf("exit %d\n--- summary\n%s\n--- progress\n%s\n--- product\n%s", o.code, o.stdout, o.stderr, o.product)
}

// TestObservedProductsGetTheirVerdicts: plain scripts play the product (a loop of uploads
// and receipt downloads with the kit's files, no adapter); the careful ones pass everything
// their traffic exercised, and each misbehaving variant fails exactly its requirement, with
// the verdict the adapter-driven certification gives the same mistake
// (TestMisconfiguredAdaptersFailExactlyTheirRequirement).
func TestObservedProductsGetTheirVerdicts(t *testing.T) {
	skipMatrixUnderRace(t)
	curl := []string{"bash", adapterPath(t, "../products/curl-product.sh")}
	ftplib := []string{"python3", adapterPath(t, "../products/ftplib-product.py")}
	for _, tc := range []struct {
		name    string
		product []string
		variant string
		want    []string // the requirements that do not pass; every other one passes
	}{
		{"curl careful", curl, "careful", []string{"CL-TLS-03=WARN"}}, // curl offers no TLS tickets (as with its adapter)
		{"ftplib careful", ftplib, "careful", nil},
		{"curl trusts any certificate", curl, "insecure", []string{"CL-TLS-03=WARN", "CL-TLS-04=FAIL"}},
		{"curl reuses a name", curl, "reuse-name", []string{"CL-NAME-01=FAIL", "CL-TLS-03=WARN"}},
		{"ftplib without session resumption", ftplib, "no-resume", []string{"CL-TLS-03=WARN"}},
		{"ftplib without close_notify", ftplib, "bare-fin", []string{"CL-TLS-02=WARN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tool.Need(t, tc.product[0], tc.product[0])
			tool.Need(t, "curl", "curl")
			o := observeProduct(t, tc.product, "PRODUCT_VARIANT="+tc.variant)
			got := notPassingIDs(o.results)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: not passing %v, want %v", tc.name, got, tc.want)
				logObservation(t, o)
			}
			if want := 0; len(tc.want) > 0 && slices.ContainsFunc(tc.want, func(s string) bool { return strings.HasSuffix(s, "=FAIL") }) {
				want = exitFailure
				if o.code != want {
					t.Errorf("exit %d, want %d", o.code, want)
				}
			} else if o.code != exitOK {
				t.Errorf("exit %d, want 0", o.code)
			}
		})
	}
}

// TestObservedAndAdapterDrivenAgree: the same reference client, certified through its
// adapter and observed as a product, gets the same verdict on every requirement the
// observation exercised.
func TestObservedAndAdapterDrivenAgree(t *testing.T) {
	skipMatrixUnderRace(t)
	for _, c := range []struct{ name, adapter, product, interp string }{
		{"curl", "curl.sh", "../products/curl-product.sh", "bash"},
		{"python3", adapterFile["python3"], "../products/ftplib-product.py", "python3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tool.Need(t, c.name, c.name)
			driven := certifyClient(t, adapterPath(t, c.adapter), certs.KeyECDSA)
			o := observeProduct(t, []string{c.interp, adapterPath(t, c.product)})
			obs := statuses(o.results)
			exercised := 0
			for _, req := range driven.Requirements {
				st, ok := obs[string(req.ID)]
				if !ok || st == string(reports.NotExercised) {
					continue
				}
				exercised++
				if st != string(req.Status) {
					t.Errorf("%s: %s through the adapter, %s observed", req.ID, req.Status, st)
					defer logObservation(t, o)
				}
			}
			if exercised < 8 {
				t.Errorf("the observation exercised %d requirements; the reference product exercises at least 8", exercised)
				logObservation(t, o)
			}
		})
	}
}

// TestAProductThatNeverConnectsIsNotCertified: nothing connects; every requirement is NOT
// EXERCISED, the verdict NOT CERTIFIED, in one sentence.
func TestAProductThatNeverConnectsIsNotCertified(t *testing.T) {
	kit, rep := filepath.Join(t.TempDir(), "kit"), t.TempDir()
	code, stdout, stderr := runCLI("certify-client", "--observe", "--kit", kit, "--duration", "2s", "--report", rep, "--key", "ecdsa")
	if code != exitNotCertified || !strings.Contains(stdout, "NOT CERTIFIED: the product never connected to the gateway") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	res, err := reports.ReadResults(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range res.Requirements {
		if req.Status != reports.NotExercised || !strings.Contains(req.Reason, "to exercise it") {
			t.Errorf("%s: %s (%s)", req.ID, req.Status, req.Reason)
		}
	}
	if res.Run.Verdict != reports.NotCertified {
		t.Errorf("verdict %s", res.Run.Verdict)
	}
	// the kit folder is the simulator's to replace; any other folder is refused
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "mine.txt"), []byte("a user's file"), 0o644)
	code, _, stderr = runCLI("certify-client", "--observe", "--kit", other, "--duration", "1s", "--report", t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, "not an ftpsgw connection kit") {
		t.Errorf("a --kit folder with a user's file: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(other, "mine.txt")); err != nil || string(b) != "a user's file" {
		t.Errorf("the user's file was touched: %q %v", b, err)
	}
	for _, bad := range [][]string{{"--observe", "--exec", "x"}, {"--observe", "--tags", "@CL-TLS-01"}, {"--observe", "--clock", "fast"}, {"--observe", "--duration", "0s"}} {
		if code, _, stderr := runCLI(append([]string{"certify-client"}, bad...)...); code != exitUsage {
			t.Errorf("certify-client %v: exit %d, want %d\n%s", bad, code, exitUsage, stderr)
		}
	}
}
