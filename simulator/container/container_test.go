package container_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/container"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps"
	"github.com/ftpsgw/ftpsgw/steps/certify"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

func TestMain(m *testing.M) {
	// No registry here: testcontainers' reaper image cannot be pulled. Read once, so set first.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	os.Exit(m.Run())
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func runGateway(t *testing.T, ctx context.Context, opts ...container.Option) *container.Gateway {
	t.Helper()
	gw, err := container.Run(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(gw.Logs(context.Background()))
		}
		gw.Terminate(context.Background())
	})
	return gw
}

// TestCertifyContainer runs the whole conformance suite against the simulator in its
// container: every MUST requirement must pass.
func TestCertifyContainer(t *testing.T) {
	container.SkipIfNoDocker(t)
	if testing.Short() {
		t.Skip("-short: the container certification takes about a minute")
	}
	ctx := testCtx(t, 8*time.Minute)
	// As `ftpsgw certify` runs the embedded simulator: Go clients resume TLS sessions.
	gw := runGateway(t, ctx, container.WithVirtualClock(), container.WithArgs("--session-reuse", "required"))
	p, err := target.ProfileFromManifest(gw.Manifest, "ftpsgw serve (container)", gw.FTPS, gw.ControlURL, gw.PassivePorts)
	if err != nil {
		t.Fatal(err)
	}
	p.Control.Token = gw.Token
	var progress bytes.Buffer
	run, err := certify.Run(ctx, certify.RunOptions{Profile: p, Features: features.FS, Steps: certify.Bind(steps.Gateway), Progress: &progress, Version: "container-test"})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	for _, req := range run.Requirements {
		switch {
		case req.Effective == "MUST" && req.Status != reports.Pass:
			t.Errorf("%s (%s): %s", req.ID, req.Effective, req.Status)
		case req.Status != reports.Pass:
			for _, i := range req.Scenarios {
				sc := run.Scenarios[i]
				t.Logf("%s (%s) %s: %s: %s%s", req.ID, req.Effective, req.Status, sc.Name, sc.Failure, sc.Unsupported)
			}
		}
	}
	if t.Failed() {
		t.Log(progress.String())
	}
	t.Logf("container certified: %v", run.Count())
}

// client is a logged-in FTPS client of a manifest identity.
func client(t *testing.T, ctx context.Context, gw *container.Gateway, name string) *ftpsclient.Client {
	t.Helper()
	id, ok := gw.Manifest.Lookup(name)
	if !ok {
		t.Fatalf("no identity %s", name)
	}
	pool, err := gw.Manifest.CAPool()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := gw.Manifest.ClientCertificate(id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ftpsclient.Dial(ctx, ftpsclient.Options{Addr: gw.FTPS, ServerName: "localhost", RootCAs: pool, Certificate: &cert, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("dial %s as %s: %v", gw.FTPS, name, err)
	}
	if err := c.Login(id.Username, id.Password); err != nil {
		c.Close()
		t.Fatalf("login as %s: %v", name, err)
	}
	return c
}

func identity(t *testing.T, m *certs.Manifest, name string) certs.ManifestIdentity {
	id, ok := m.Lookup(name)
	if !ok {
		t.Fatalf("no identity %s", name)
	}
	return id
}

// receiptCodes maps each uploaded file name to its receipt codes, in order.
func receiptCodes(t *testing.T, ctx context.Context, api *control.Client, username string) map[string][]int {
	t.Helper()
	rs, err := api.Receipts(ctx, username)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	for _, r := range rs {
		if r.Kind == "receipt" {
			out[r.Filename] = append(out[r.Filename], r.Code)
		}
	}
	return out
}

// cluster is a gateway, a backend and a security system in three containers on one network.
type cluster struct {
	gw       *container.Gateway
	backend  *container.Service
	security *container.Service
	gwnet    *testcontainers.DockerNetwork // gateway <-> backend, security
	mgmt     *testcontainers.DockerNetwork // the test <-> backend, security (never cut)
}

func newNetwork(t *testing.T, ctx context.Context) *testcontainers.DockerNetwork {
	t.Helper()
	nw, err := tcnetwork.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nw.Remove(context.Background()) })
	return nw
}

func startCluster(t *testing.T, ctx context.Context, gwOpts ...container.Option) *cluster {
	t.Helper()
	c := &cluster{gwnet: newNetwork(t, ctx), mgmt: newNetwork(t, ctx)}
	var err error
	for _, svc := range []struct {
		name string
		dst  **container.Service
	}{{"backend", &c.backend}, {"security", &c.security}} {
		*svc.dst, err = container.RunService(ctx, svc.name, container.WithNetwork(c.gwnet, svc.name), container.WithNetwork(c.mgmt))
		if err != nil {
			t.Fatal(err)
		}
		s := *svc.dst
		t.Cleanup(func() { s.Terminate(context.Background()) })
	}
	opts := append([]container.Option{container.WithVirtualClock(), container.WithNetwork(c.gwnet, "gateway"),
		container.WithArgs("--backend-url", "http://backend:"+container.ServicePort, "--security-url", "http://security:"+container.ServicePort,
			"--remote-timeout", "3s")}, gwOpts...)
	c.gw = runGateway(t, ctx, opts...)
	return c
}

// serviceURL is a service's URL on the management network (reachable while it is cut off
// from the gateway's network).
func (c *cluster) serviceURL(t *testing.T, ctx context.Context, s *container.Service) string {
	ip, err := container.IPOn(ctx, s.Container, c.mgmt)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + ip + ":" + container.ServicePort
}

func advance(t *testing.T, ctx context.Context, api *control.Client, d time.Duration) {
	t.Helper()
	if _, err := api.Advance(ctx, d); err != nil {
		t.Fatalf("advancing the clock %s: %v", d, err)
	}
}

func TestBackendNetworkCut(t *testing.T) {
	container.SkipIfNoDocker(t)
	ctx := testCtx(t, 5*time.Minute)
	c := startCluster(t, ctx)
	api := c.gw.Control
	moces := identity(t, c.gw.Manifest, "moces")
	bc := control.NewBackendClient(c.serviceURL(t, ctx, c.backend), 10*time.Second)

	ftp := client(t, ctx, c.gw, "moces")
	if err := ftp.Upload("/FTPSGW.Heartbeat/before_1.txt", []byte("before\n")); err != nil {
		t.Fatal(err)
	}
	advance(t, ctx, api, 3*time.Second)
	if got := receiptCodes(t, ctx, api, moces.Username)["before_1.txt"]; !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("receipts through the backend container: %v", got)
	}

	if err := container.Disconnect(ctx, c.backend.Container, c.gwnet); err != nil {
		t.Fatal(err)
	}
	cut := []string{"cut_1.txt", "cut_2.txt", "cut_3.txt", "cut_4.txt"}
	for _, n := range cut {
		if err := ftp.Upload("/FTPSGW.Heartbeat/"+n, []byte(n+"\n")); err != nil {
			t.Fatalf("upload while the backend is cut off: %v", err)
		}
	}
	ftp.Close()
	advance(t, ctx, api, 7*time.Hour)
	codes := receiptCodes(t, ctx, api, moces.Username)
	for _, n := range cut {
		if len(codes[n]) != 0 {
			t.Fatalf("%s has receipts %v while the backend is cut off (no status_0 may come from an outage)", n, codes[n])
		}
	}
	if err := container.Connect(ctx, c.backend.Container, c.gwnet, "backend"); err != nil {
		t.Fatal(err)
	}
	advance(t, ctx, api, 15*time.Minute+5*time.Second)
	codes = receiptCodes(t, ctx, api, moces.Username)
	for _, n := range cut {
		if !slices.Equal(codes[n], []int{1, 2}) {
			t.Errorf("%s after reconnecting: receipts %v, want [1 2]", n, codes[n])
		}
	}
	got, err := bc.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
	}
	if want := append([]string{"before_1.txt"}, cut...); !slices.Equal(names, want) {
		t.Fatalf("the backend container received %v, want each file once, in order: %v", names, want)
	}
}

func TestSecurityNetworkCut(t *testing.T) {
	container.SkipIfNoDocker(t)
	ctx := testCtx(t, 5*time.Minute)
	c := startCluster(t, ctx)
	api := c.gw.Control
	moces := identity(t, c.gw.Manifest, "moces")
	sc := control.NewSecurityClient(c.serviceURL(t, ctx, c.security), 10*time.Second)
	if snap, err := sc.Snapshot(ctx); err != nil || len(snap.Registrations) == 0 {
		t.Fatalf("the security container holds %d registrations (%v)", len(snap.Registrations), err)
	}
	if err := container.Disconnect(ctx, c.security.Container, c.gwnet); err != nil {
		t.Fatal(err)
	}
	// Changed in the security system while the gateway cannot see it.
	if err := sc.SetRoles(ctx, moces.Username, []string{"FTPSGW.Heartbeat"}); err != nil {
		t.Fatal(err)
	}
	advance(t, ctx, api, 3*time.Hour)
	ftp := client(t, ctx, c.gw, "moces") // logins keep working on the last replica
	entries, err := ftp.List("/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name)
	}
	ftp.Close()
	want := append([]string{"out"}, moces.Roles...)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("folders while the security system is cut off: %v, want the last replica %v", got, want)
	}
	if sec, err := api.Security(ctx); err != nil || sec.LastReplication.IsZero() {
		t.Fatalf("security state: %+v %v", sec, err)
	}
	if err := container.Connect(ctx, c.security.Container, c.gwnet, "security"); err != nil {
		t.Fatal(err)
	}
	advance(t, ctx, api, time.Hour)
	ftp = client(t, ctx, c.gw, "moces")
	defer ftp.Close()
	entries, err = ftp.List("/")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, e := range entries {
		got = append(got, e.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"FTPSGW.Heartbeat", "out"}) {
		t.Fatalf("after reconnecting: %v, want the change made during the cut", got)
	}
}

func TestGatewayRestartOnVolumeMidQueue(t *testing.T) {
	container.SkipIfNoDocker(t)
	ctx := testCtx(t, 5*time.Minute)
	var rnd [6]byte
	rand.Read(rnd[:])
	volume := "ftpsgw-test-" + hex.EncodeToString(rnd[:])
	t.Cleanup(func() { container.RemoveVolume(context.Background(), volume) })
	first := runGateway(t, ctx, container.WithVirtualClock(), container.WithDataVolume(volume), container.WithToken("restart-test-token"))
	moces := identity(t, first.Manifest, "moces")
	if err := first.Control.SetBackendUp(ctx, false); err != nil {
		t.Fatal(err)
	}
	ftp := client(t, ctx, first, "moces")
	var files []string
	for i := 1; i <= 20; i++ {
		n := fmt.Sprintf("queued_%d.txt", i)
		if err := ftp.Upload("/FTPSGW.Heartbeat/"+n, []byte(n+"\n")); err != nil {
			t.Fatalf("upload %s: %v", n, err)
		}
		files = append(files, n)
	}
	ftp.Close()
	advance(t, ctx, first.Control, time.Hour)
	before, err := first.Control.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A crash, not a shutdown; then a new container on the same volume.
	if err := container.Kill(ctx, first.Container); err != nil {
		t.Fatal(err)
	}
	second := runGateway(t, ctx, container.WithVirtualClock(), container.WithDataVolume(volume), container.WithToken("restart-test-token"))
	if second.Manifest.Identities[0].Fingerprint != first.Manifest.Identities[0].Fingerprint {
		t.Fatal("the new container made a new PKI instead of using the volume's")
	}
	if now, err := second.Control.Clock(ctx); err != nil || now.Now.Before(before.Now) {
		t.Fatalf("the virtual clock went back over the restart: %v -> %v (%v)", before.Now, now.Now, err)
	}
	subs, err := second.Control.Submissions(ctx, moces.Username)
	if err != nil || len(subs) != len(files) {
		t.Fatalf("after the restart %d submissions (%v), want %d", len(subs), err, len(files))
	}
	if err := second.Control.SetBackendUp(ctx, true); err != nil {
		t.Fatal(err)
	}
	advance(t, ctx, second.Control, 5*time.Second)
	codes := receiptCodes(t, ctx, second.Control, moces.Username)
	for _, n := range files {
		if !slices.Equal(codes[n], []int{1, 2}) {
			t.Errorf("%s after the restart: receipts %v, want [1 2] exactly once", n, codes[n])
		}
	}
	ftp = client(t, ctx, second, "moces")
	defer ftp.Close()
	entries, err := ftp.List("/out")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*len(files) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name)
		}
		t.Fatalf("/out holds %d files, want %d: %s", len(entries), 2*len(files), strings.Join(names, " "))
	}
}
