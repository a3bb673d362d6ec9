package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/steps/observe"
)

// observeFlags are certify-client --observe's settings.
type observeFlags struct {
	kit      string
	duration time.Duration
	settle   time.Duration
	clock    string
	strict   bool
}

// kitMarker marks a connection-kit folder as ftpsgw's: only such a folder (or an empty or new
// one) is written, so --kit can never overwrite a user's files.
const kitMarker = ".ftpsgw-kit"

// Connection is connection.json: what a vendor configures in its product.
type Connection struct {
	Host         string        `json:"host"`
	Port         string        `json:"port"`
	Mode         string        `json:"mode"`
	PassivePorts string        `json:"passive_ports"`
	ServerName   string        `json:"server_name"`
	CA           string        `json:"ca"`
	Identities   []KitIdentity `json:"identities"`
	ControlAPI   string        `json:"control_api"`
	Dashboard    string        `json:"dashboard"`
	Finish       string        `json:"finish"`
	Notes        []string      `json:"notes"`
}

// KitIdentity is one certificate with its login.
type KitIdentity struct {
	Name        string   `json:"name"`
	Username    string   `json:"username"`
	Password    string   `json:"password"`
	P12         string   `json:"p12"`
	P12Password string   `json:"p12_password"`
	Cert        string   `json:"cert"`
	Key         string   `json:"key"`
	Chain       string   `json:"chain"`
	Folders     []string `json:"folders"`
}

// prepareKitDir makes dir ready for a kit: new, empty, or an earlier kit (marked).
func prepareKitDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, kitMarker)); err != nil {
			return fmt.Errorf("--kit %s: the folder holds files that are not an ftpsgw connection kit (no %s); give a new or empty folder", dir, kitMarker)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, kitMarker), []byte("an ftpsgw certify-client --observe connection kit; the next run replaces this folder\n"), 0o600)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

// writeKit writes the connection kit: the CA, a folder per identity (certificate, key,
// chain, .p12) and connection.json.
func writeKit(dir string, sim *simtest.Simulator) (Connection, []observe.Identity, error) {
	m := sim.Manifest
	host, port, _ := strings.Cut(sim.FTPS, ":")
	if i := strings.LastIndex(sim.FTPS, ":"); i >= 0 {
		host, port = sim.FTPS[:i], sim.FTPS[i+1:]
	}
	c := Connection{Host: host, Port: port, Mode: "explicit FTPS (AUTH TLS on the control port), TLS 1.2, passive mode, PROT P",
		PassivePorts: sim.PassivePorts, ServerName: "localhost", CA: "ca.pem", ControlAPI: sim.ControlURL + "/control/v1",
		Dashboard: sim.ControlURL + "/ui/", Finish: "curl -X POST " + sim.ControlURL + "/control/v1/finish",
		Notes: []string{
			"Trust only ca.pem (the gateway's CA): a product that trusts any certificate fails CL-TLS-04.",
			"Each identity logs in with its certificate AND its username and password; it may upload into its folders and fetch its receipts from /out.",
			"Let the product do its normal work: uploads, receipt polling. The gateway plays one case at a time on its connections (see the report).",
		}}
	if err := copyFile(m.Path(m.CA.Bundle), filepath.Join(dir, "ca.pem")); err != nil {
		return c, nil, err
	}
	var ids []observe.Identity
	for _, id := range m.Identities {
		if id.Username == "" || !id.CanLogin || id.Defect != "" {
			continue
		}
		sub := filepath.Join(dir, id.Name)
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return c, nil, err
		}
		k := KitIdentity{Name: id.Name, Username: id.Username, Password: id.Password, P12Password: id.P12Password,
			P12: filepath.Join(id.Name, id.Name+".p12"), Cert: filepath.Join(id.Name, "cert.pem"), Key: filepath.Join(id.Name, "key.pem"),
			Chain: filepath.Join(id.Name, "chain.pem"), Folders: id.Roles}
		for src, dst := range map[string]string{id.P12: k.P12, id.Cert: k.Cert, id.Key: k.Key, id.Chain: k.Chain} {
			if err := copyFile(m.Path(src), filepath.Join(dir, dst)); err != nil {
				return c, nil, err
			}
		}
		c.Identities = append(c.Identities, k)
		ids = append(ids, observe.Identity{Name: id.Name, Username: id.Username, Fingerprint: id.Fingerprint})
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	return c, ids, os.WriteFile(filepath.Join(dir, "connection.json"), append(b, '\n'), 0o600)
}

// runObserve is certify-client --observe: the kit, the observation, the verdicts.
func runObserve(ctx context.Context, o observeFlags, alg certs.KeyAlgorithm, out finish, stdout, stderr io.Writer) int {
	suite, err := catalogue.Load(features.ClientFS)
	if err != nil {
		return fail(stderr, "the client catalogue: %v", err)
	}
	if err := prepareKitDir(o.kit); err != nil {
		fmt.Fprintf(stderr, "ftpsgw certify-client: %v\n", err)
		return exitUsage
	}
	finished := make(chan struct{})
	var once sync.Once
	fmt.Fprintf(stderr, "issuing a test PKI (%s) and starting the simulator…\n", alg.Describe())
	emb, err := startSimulator(ctx, simtest.Options{Observe: true, Key: alg, RealClock: o.clock == "real",
		Finish: func() { once.Do(func() { close(finished) }) }})
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stderr, "ftpsgw certify-client: interrupted while the simulator started; nothing ran")
		return exitInterrupted
	}
	if err != nil {
		return fail(stderr, "starting the simulator: %v", err)
	}
	defer emb.close()
	conn, ids, err := writeKit(o.kit, emb.sim)
	if err != nil {
		return fail(stderr, "writing the connection kit: %v", err)
	}
	fmt.Fprintf(stdout, "Connection kit in %s (connection.json, ca.pem, a folder per identity with its .p12):\n", o.kit)
	fmt.Fprintf(stdout, "  gateway   %s:%s, %s; passive ports %s; trust %s only\n", conn.Host, conn.Port, conn.Mode, conn.PassivePorts, filepath.Join(o.kit, conn.CA))
	for _, k := range conn.Identities {
		fmt.Fprintf(stdout, "  identity  %s: user %s, password %s, certificate %s (password %s), folders %s\n", k.Name, k.Username, k.Password,
			filepath.Join(o.kit, k.P12), k.P12Password, strings.Join(k.Folders, ", "))
	}
	fmt.Fprintf(stdout, "  dashboard %s\n  Let the product do its normal work. The observation ends after %s, at Ctrl-C, or with: %s\n", conn.Dashboard, o.duration, conn.Finish)
	octx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	publish := func(obs *observe.Observation) {
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := observe.Publish(pctx, emb.sim.Control, obs, suite, ids, o.strict); err != nil {
			fmt.Fprintf(stderr, "observe: the dashboard's progress was not updated: %v\n", err)
		}
	}
	obs, err := observe.Observe(octx, observe.Options{API: emb.sim.Control, Identities: ids, Finish: finished, Progress: stderr,
		Settle: o.settle, Report: publish})
	if err != nil {
		return fail(stderr, "observing the product: %v", err)
	}
	run := observe.Judge(obs, suite, ids, o.strict)
	run.Suite = version
	run.Target = reports.Target{Name: "client product (observed)", Address: emb.sim.FTPS, Mode: "explicit",
		Control: true, Description: observe.Describe(obs, o.duration)}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "observation ended by the interrupt; judging what was seen")
	}
	if !observe.Connected(obs) {
		fmt.Fprintf(stdout, "NOT CERTIFIED: the product never connected to the gateway at %s during the observation (%s).\n", emb.sim.FTPS, obs.Ended.Sub(obs.Started).Round(time.Second))
	}
	if err := writeCucumber(filepath.Join(out.dir, "cucumber.json"), run); err != nil {
		return fail(stderr, "writing cucumber.json: %v", err)
	}
	out.profile = emb.profile
	return finishRun(run, out, stdout, stderr)
}

func writeCucumber(path string, run *reports.Run) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := reports.WriteCucumber(f, run); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
