package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

var listeningRe = regexp.MustCompile(`listening on (http://\S+),`)

// service starts `ftpsgw backend|security` and returns its URL (bounded wait).
func service(t *testing.T, name string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	cmd := exec.Command(binary(t), append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listeningRe.FindStringSubmatch(out.String()); m != nil {
			return cmd, m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("ftpsgw %s did not start\nstdout:\n%s\nstderr:\n%s", name, out, errb)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestThreeProcesses runs gateway, backend and security system as three processes, the
// gateway configured through the environment, and SIGKILLs the backend in the middle.
func TestThreeProcesses(t *testing.T) {
	bdata, sdata := t.TempDir(), t.TempDir()
	backend, burl := service(t, "backend", "--listen", "127.0.0.1:0", "--data", bdata)
	_, surl := service(t, "security", "--listen", "127.0.0.1:0", "--data", sdata)
	t.Setenv("FTPSGW_BACKEND_URL", burl)
	t.Setenv("FTPSGW_SECURITY_URL", surl)
	t.Setenv("FTPSGW_CLOCK", "virtual")
	t.Setenv("FTPSGW_REMOTE_TIMEOUT", "2s")
	data := t.TempDir()
	gw := serve(t, "--data", data, "--listen", "127.0.0.1:0", "--passive-ports", "0", "--control", "127.0.0.1:0", "--log-level", "warn")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	api := control.NewClient(gw.ready.ControlAPI, "")
	if c, err := api.Clock(ctx); err != nil || c.Mode != "virtual" {
		t.Fatalf("FTPSGW_CLOCK=virtual not applied: %+v %v", c, err)
	}
	m, err := certs.LoadManifest(gw.ready.PKI)
	if err != nil {
		t.Fatal(err)
	}
	if snap, err := control.NewSecurityClient(surl, 5*time.Second).Snapshot(ctx); err != nil || len(snap.Registrations) == 0 {
		t.Fatalf("the security process got no registrations: %v", err)
	}
	id, _ := m.Lookup("moces")
	cert, _ := m.ClientCertificate(id)
	pool, _ := m.CAPool()
	upload := func(name string) {
		t.Helper()
		c, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: gw.ready.Control, ServerName: "localhost", RootCAs: pool, Certificate: &cert})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(id.Username, id.Password); err != nil {
			t.Fatal(err)
		}
		if err := c.Upload("/FTPSGW.Heartbeat/"+name, []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	codes := func(name string) []int {
		rs, err := api.Receipts(ctx, id.Username)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, r := range rs {
			if r.Filename == name {
				out = append(out, r.Code)
			}
		}
		return out
	}
	upload("three_1.txt")
	api.Advance(ctx, 3*time.Second)
	if got := codes("three_1.txt"); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("receipts through the backend process: %v", got)
	}
	// The backend crashes; uploads go on and wait; it restarts on the same port and data.
	backend.Process.Signal(syscall.SIGKILL)
	backend.Wait()
	upload("three_2.txt")
	api.Advance(ctx, time.Hour)
	if got := codes("three_2.txt"); len(got) != 0 {
		t.Fatalf("receipts while the backend is down: %v", got)
	}
	_, burl2 := service(t, "backend", "--listen", strings.TrimPrefix(burl, "http://"), "--data", bdata)
	if burl2 != burl {
		t.Fatalf("the backend came back at %s, not %s", burl2, burl)
	}
	api.Advance(ctx, 15*time.Minute+3*time.Second)
	if got := codes("three_2.txt"); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("receipts after the backend restarted: %v", got)
	}
	ds, err := control.NewBackendClient(burl, 5*time.Second).Deliveries(ctx)
	if err != nil || len(ds) != 2 || ds[0].Name != "three_1.txt" || ds[1].Name != "three_2.txt" {
		t.Fatalf("the backend's records after its restart: %+v %v", ds, err)
	}
}

func TestServiceAndEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--backend-url", "ftp://backend"}, nil, "backend.url"},
		{[]string{"serve", "--security-url", "http://x/path"}, nil, "security.url"},
		{[]string{"serve"}, map[string]string{"FTPSGW_CLOCK": "sometimes"}, "clock"},
		{[]string{"serve"}, map[string]string{"FTPSGW_REMOTE_TIMEOUT": "soon"}, "FTPSGW_REMOTE_TIMEOUT"},
		{[]string{"backend", "--listen", "nonsense", "--data", t.TempDir()}, nil, "nonsense"},
		{[]string{"security", "--config", "x.yaml"}, nil, "backend only"},
		{[]string{"backend", "extra"}, nil, "Usage"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCLI(tc.args...)
			if code == exitOK || !strings.Contains(stderr, tc.want) {
				t.Errorf("%v %v: code %d, stderr %q (want %q)", tc.env, tc.args, code, stderr, tc.want)
			}
		})
	}
}

// TestServeSettingsPrecedence: defaults, then the --config file, then FTPSGW_<FLAG>, then the
// command line; flags bind straight to the settings.
func TestServeSettingsPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:1001\nclock: virtual\npassive_ports: 40000-40010\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cfg, _, stop := serveConfig([]string{"--config", file}, &errb)
	if stop || cfg.Listen != "127.0.0.1:1001" || cfg.Clock != "virtual" || cfg.PassivePorts != "40000-40010" {
		t.Fatalf("file: %+v %v %s", cfg.Listen, stop, errb.String())
	}
	t.Setenv("FTPSGW_LISTEN", "127.0.0.1:1002")
	if cfg, _, _ = serveConfig([]string{"--config", file}, &errb); cfg.Listen != "127.0.0.1:1002" || cfg.Clock != "virtual" {
		t.Errorf("environment over file: %s %s", cfg.Listen, cfg.Clock)
	}
	cfg, _, _ = serveConfig([]string{"--config", file, "--listen", "127.0.0.1:1003", "--remote-timeout", "7s"}, &errb)
	if cfg.Listen != "127.0.0.1:1003" || cfg.Backend.Timeout.Std() != 7*time.Second || cfg.Security.Timeout.Std() != 7*time.Second {
		t.Errorf("flags over environment: %s %v %v", cfg.Listen, cfg.Backend.Timeout, cfg.Security.Timeout)
	}
	if _, code, stop := serveConfig([]string{"--remote-timeout", "soon"}, &errb); !stop || code != exitUsage {
		t.Errorf("bad duration: stop %v code %d", stop, code)
	}
}
