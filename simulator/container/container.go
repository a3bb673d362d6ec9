// Package container runs the ftpsgw gateway simulator, and its backend and security-system
// services, as Docker containers from Go tests (testcontainers-go). The image is built
// FROM scratch from a static binary, so nothing is pulled: it works on machines without
// any image registry.
//
//	func TestMyClient(t *testing.T) {
//		container.SkipIfNoDocker(t)
//		gw, err := container.Run(ctx, container.WithVirtualClock())
//		...
//		defer gw.Terminate(ctx)
//		// gw.FTPS, gw.Manifest (certificates and passwords), gw.Control (control API)
//	}
//
// Set TESTCONTAINERS_RYUK_DISABLED=true before the first container starts (in TestMain):
// the reaper's image cannot be pulled without a registry. The FTPS endpoint is the
// container's own address (PASV then announces an address the client reaches), so the test
// must run where container addresses are routable: Linux with Docker Engine.
package container

import (
	"archive/tar"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/simulator/control"
)

// Ports inside the container (the image's defaults).
const (
	FTPSPort     = "2121"
	ControlPort  = "6382"
	PassivePorts = "36000-36015"
	ServicePort  = "7100" // `ftpsgw backend` and `ftpsgw security`
	// ImageEnv names an image to use instead of building one (e.g. from `make image`).
	ImageEnv = "FTPSGW_IMAGE"
)

// SkipIfNoDocker skips the test, with one line saying why, when no Docker engine answers.
func SkipIfNoDocker(t testing.TB) {
	t.Helper()
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") != "true" {
		// Without a registry the reaper cannot start; never let a test hang on pulling it.
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		t.Skip("Docker is not available (no /var/run/docker.sock, no DOCKER_HOST): container tests skipped")
	}
	oneLine := func(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
	cli, err := testcontainers.NewDockerClientWithOpts(context.Background())
	if err != nil {
		t.Skipf("Docker is not available (%s): container tests skipped", oneLine(err))
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		t.Skipf("Docker is not available (%s): container tests skipped", oneLine(err))
	}
	if tt, ok := t.(*testing.T); ok {
		testcontainers.SkipIfProviderIsNotHealthy(tt) // testcontainers' own health check, as its docs advise
	}
}

var buildMu sync.Mutex

// Option configures a container.
type Option func(*settings)

type settings struct {
	image    string
	args     []string
	env      map[string]string
	networks []netAttach
	volume   string
	token    string
	log      io.Writer
}

type netAttach struct {
	nw      *testcontainers.DockerNetwork
	aliases []string
}

// WithImage uses an existing image instead of building one.
func WithImage(tag string) Option { return func(s *settings) { s.image = tag } }

// WithArgs appends flags to the command (e.g. "--backend-url", "http://backend:7100").
func WithArgs(args ...string) Option { return func(s *settings) { s.args = append(s.args, args...) } }

// WithVirtualClock starts the gateway with a virtual clock (time moves through the control API).
func WithVirtualClock() Option { return WithArgs("--clock", "virtual") }

// WithEnv sets environment variables (FTPSGW_<FLAG> sets a flag).
func WithEnv(env map[string]string) Option {
	return func(s *settings) {
		for k, v := range env {
			s.env[k] = v
		}
	}
}

// WithNetwork attaches the container to a network under aliases (other containers reach
// it by those names). Several networks may be given.
func WithNetwork(nw *testcontainers.DockerNetwork, aliases ...string) Option {
	return func(s *settings) { s.networks = append(s.networks, netAttach{nw, aliases}) }
}

// WithDataVolume keeps /data in a named Docker volume, so a new container on the same
// volume continues where a stopped one left off.
func WithDataVolume(name string) Option { return func(s *settings) { s.volume = name } }

// WithToken sets the control API's bearer token (default: a random one).
func WithToken(token string) Option { return func(s *settings) { s.token = token } }

// WithBuildLog receives the image build's output.
func WithBuildLog(w io.Writer) Option { return func(s *settings) { s.log = w } }

func newSettings(opts []Option) *settings {
	s := &settings{env: map[string]string{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *settings) request(ctx context.Context, cmd []string, waitFor wait.Strategy) ([]testcontainers.ContainerCustomizer, error) {
	img := s.image
	if img == "" {
		var err error
		if img, err = Image(ctx, s.log); err != nil {
			return nil, err
		}
		s.image = img
	}
	custom := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd(append(cmd, s.args...)...),
		testcontainers.WithEnv(s.env),
		testcontainers.WithWaitStrategyAndDeadline(60*time.Second, waitFor),
		testcontainers.WithLabels(map[string]string{"ftpsgw.test": "true"}),
	}
	for _, n := range s.networks {
		custom = append(custom, tcnetwork.WithNetwork(n.aliases, n.nw))
	}
	if s.volume != "" {
		custom = append(custom, testcontainers.WithMounts(testcontainers.VolumeMount(s.volume, "/data")))
	}
	return custom, nil
}

// Gateway is a running gateway simulator container.
type Gateway struct {
	Container *testcontainers.DockerContainer
	// FTPS is the explicit-FTPS address (the container's IP and port 2121).
	FTPS string
	// ControlURL and Token reach the control API; Control is its typed client.
	ControlURL string
	Token      string
	Control    *control.Client
	// Manifest is the container's PKI (certificates, keys, passwords), copied to a local
	// folder; use Manifest.Path to find its files.
	Manifest *certs.Manifest
	// PassivePorts is the passive range the container serves.
	PassivePorts string
	image        string
	pkiDir       string
}

// Run starts a gateway simulator container and waits until it serves FTPS and its control
// API answers. Stop it with Terminate.
func Run(ctx context.Context, opts ...Option) (*Gateway, error) {
	s := newSettings(opts)
	if s.token == "" {
		tok, err := certs.RandomSecret(24)
		if err != nil {
			return nil, err
		}
		s.token = tok
	}
	s.env["FTPSGW_CONTROL_TOKEN"] = s.token
	cmd := []string{"serve", "--listen", "0.0.0.0:" + FTPSPort, "--passive-ports", PassivePorts, "--control", "0.0.0.0:" + ControlPort, "--allow-remote-control"}
	// The line is printed once every listener is bound; attach then checks FTPS and the
	// control API on the container's own address. (No wait.ForListeningPort: it dials the
	// daemon host's mapped port, and testcontainers' guess of that host is wrong when the
	// tests themselves run in a container.)
	waitFor := wait.ForLog("ftpsgw gateway simulator (TEST) listening on")
	custom, err := s.request(ctx, cmd, waitFor)
	if err != nil {
		return nil, err
	}
	ctr, err := testcontainers.Run(ctx, s.image, custom...)
	if err != nil {
		if ctr != nil {
			logs := tail(ctx, ctr)
			_ = ctr.Terminate(context.Background())
			return nil, fmt.Errorf("starting the gateway container: %w\n%s", err, logs)
		}
		return nil, fmt.Errorf("starting the gateway container: %w", err)
	}
	g := &Gateway{Container: ctr, Token: s.token, PassivePorts: PassivePorts, image: s.image}
	if err := g.attach(ctx); err != nil {
		logs := tail(ctx, ctr)
		_ = g.Terminate(context.Background())
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	return g, nil
}

// attach finds the container's address, copies its PKI out and checks the control API.
func (g *Gateway) attach(ctx context.Context) error {
	ip, err := containerIP(ctx, g.Container)
	if err != nil {
		return err
	}
	g.FTPS = net.JoinHostPort(ip, FTPSPort)
	g.ControlURL = "http://" + net.JoinHostPort(ip, ControlPort)
	g.Control = control.NewClient(g.ControlURL, g.Token)
	if g.pkiDir == "" {
		if g.pkiDir, err = os.MkdirTemp("", "ftpsgw-container-pki-"); err != nil {
			return err
		}
		if err := copyDirFrom(ctx, g.Container, "/data/pki", g.pkiDir); err != nil {
			return fmt.Errorf("copying the PKI out of the container: %w", err)
		}
		if g.Manifest, err = certs.LoadManifest(filepath.Join(g.pkiDir, "pki")); err != nil {
			return err
		}
	}
	if err := waitHTTP(ctx, func(c context.Context) error { _, err := g.Control.Health(c); return err }); err != nil {
		return fmt.Errorf("the control API at %s does not answer: %w", g.ControlURL, err)
	}
	return waitHTTP(ctx, func(c context.Context) error {
		conn, err := (&net.Dialer{}).DialContext(c, "tcp", g.FTPS)
		if err == nil {
			conn.Close()
		}
		return err
	})
}

// Stop stops the container (its data volume stays); Start starts it again.
func (g *Gateway) Stop(ctx context.Context) error {
	timeout := 10 * time.Second
	return g.Container.Stop(ctx, &timeout)
}

// Start starts a stopped container again and waits until it serves.
func (g *Gateway) Start(ctx context.Context) error {
	if err := g.Container.Start(ctx); err != nil {
		return err
	}
	return g.attach(ctx)
}

// Terminate removes the container and the local copy of its PKI.
func (g *Gateway) Terminate(ctx context.Context) error {
	if g.pkiDir != "" {
		os.RemoveAll(g.pkiDir)
	}
	return testcontainers.TerminateContainer(g.Container)
}

// Logs returns the container's output so far.
func (g *Gateway) Logs(ctx context.Context) string { return tail(ctx, g.Container) }

// Service is a running `ftpsgw backend` or `ftpsgw security` container.
type Service struct {
	Container *testcontainers.DockerContainer
	// URL reaches the service from the host (the container's address on its first network).
	URL string
}

// RunService starts `ftpsgw backend` or `ftpsgw security` (name) listening on ServicePort.
// Give it a network and an alias so a gateway reaches it as http://ALIAS:7100.
func RunService(ctx context.Context, name string, opts ...Option) (*Service, error) {
	if name != "backend" && name != "security" {
		return nil, fmt.Errorf("unknown service %q (backend or security)", name)
	}
	s := newSettings(opts)
	cmd := []string{name, "--listen", "0.0.0.0:" + ServicePort, "--data", "/data/" + name}
	waitFor := wait.ForLog("ftpsgw " + name + " (TEST) listening on")
	custom, err := s.request(ctx, cmd, waitFor)
	if err != nil {
		return nil, err
	}
	ctr, err := testcontainers.Run(ctx, s.image, custom...)
	if err != nil {
		if ctr != nil {
			_ = ctr.Terminate(context.Background())
		}
		return nil, fmt.Errorf("starting the %s container: %w", name, err)
	}
	ips, err := ctr.ContainerIPs(ctx)
	if err != nil || len(ips) == 0 {
		_ = ctr.Terminate(context.Background())
		return nil, fmt.Errorf("the %s container has no address: %v", name, err)
	}
	svc := &Service{Container: ctr, URL: "http://" + net.JoinHostPort(ips[0], ServicePort)}
	if err := waitHTTP(ctx, func(c context.Context) error {
		if name == "backend" {
			_, err := control.NewBackendClient(svc.URL, 5*time.Second).Health(c)
			return err
		}
		_, err := control.NewSecurityClient(svc.URL, 5*time.Second).Health(c)
		return err
	}); err != nil {
		logs := tail(ctx, ctr)
		_ = ctr.Terminate(context.Background())
		return nil, fmt.Errorf("the %s container at %s does not answer: %w\n%s", name, svc.URL, err, logs)
	}
	return svc, nil
}

// waitHTTP retries check for up to 30 s.
func waitHTTP(ctx context.Context, check func(context.Context) error) error {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := check(hctx)
		if err == nil {
			return nil
		}
		select {
		case <-hctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Terminate removes the service container.
func (s *Service) Terminate(ctx context.Context) error {
	return testcontainers.TerminateContainer(s.Container)
}

// Disconnect cuts a container off a network (a network partition); Connect restores it
// with the same aliases.
func Disconnect(ctx context.Context, ctr *testcontainers.DockerContainer, nw *testcontainers.DockerNetwork) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.NetworkDisconnect(ctx, nw.ID, client.NetworkDisconnectOptions{Container: ctr.GetContainerID(), Force: true})
	return err
}

// Connect attaches a container to a network again under aliases.
func Connect(ctx context.Context, ctr *testcontainers.DockerContainer, nw *testcontainers.DockerNetwork, aliases ...string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.NetworkConnect(ctx, nw.ID, client.NetworkConnectOptions{Container: ctr.GetContainerID(),
		EndpointConfig: endpoint(aliases)})
	return err
}

func containerIP(ctx context.Context, ctr *testcontainers.DockerContainer) (string, error) {
	ips, err := ctr.ContainerIPs(ctx)
	if err != nil {
		return "", err
	}
	if len(ips) == 0 || ips[0] == "" {
		return "", errors.New("the container has no IP address")
	}
	return ips[0], nil
}

// copyDirFrom copies a folder out of a container into dst (as dst/<base of src>).
func copyDirFrom(ctx context.Context, ctr *testcontainers.DockerContainer, src, dst string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	res, err := cli.CopyFromContainer(ctx, ctr.GetContainerID(), client.CopyFromContainerOptions{SourcePath: src})
	if err != nil {
		return err
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) || filepath.IsAbs(name) {
			return fmt.Errorf("unsafe path %q in the container's archive", h.Name)
		}
		p := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, 64<<20))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

func tail(ctx context.Context, ctr *testcontainers.DockerContainer) string {
	r, err := ctr.Logs(ctx)
	if err != nil {
		return ""
	}
	defer r.Close()
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return "container log (end):\n" + string(b)
}

func endpoint(aliases []string) *network.EndpointSettings {
	return &network.EndpointSettings{Aliases: aliases}
}

// IPOn returns a container's address on one network.
func IPOn(ctx context.Context, ctr *testcontainers.DockerContainer, nw *testcontainers.DockerNetwork) (string, error) {
	in, err := ctr.Inspect(ctx)
	if err != nil {
		return "", err
	}
	ep, ok := in.NetworkSettings.Networks[nw.Name]
	if !ok || !ep.IPAddress.IsValid() {
		return "", fmt.Errorf("the container is not on network %s", nw.Name)
	}
	return ep.IPAddress.String(), nil
}

// Kill sends SIGKILL to a container: a crash, not a shutdown.
func Kill(ctx context.Context, ctr *testcontainers.DockerContainer) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.ContainerKill(ctx, ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"})
	return err
}

// RemoveVolume removes a named volume (after the containers using it are gone).
func RemoveVolume(ctx context.Context, name string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
	return err
}
