// Package target is what a certification run certifies: the target profile (where the gateway
// is, how to trust it, who to be), the ways to put it into a state (the simulator's control
// API or a state adapter command), and the commands the harness runs for it (state and
// client adapters). The step definitions and the certification engine both use it; it never
// imports the simulator.
package target

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features/catalogue"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// Profile describes a gateway to certify: where it is, how to trust it, and who to be.
// Identity names are the suite's: moces (primary), voces (a second certificate of the same
// CVR), other-company, oces3-org, personal, and the negative fixtures expired, not-yet-valid,
// foreign-ca, revoked, wrong-key-usage. A scenario needing an identity the profile lacks is
// reported UNSUPPORTED.
type Profile struct {
	Name         string            `yaml:"name"`
	Address      string            `yaml:"address"`
	Mode         string            `yaml:"mode"` // explicit | implicit
	CA           string            `yaml:"ca"`
	ServerName   string            `yaml:"server_name"`
	PassivePorts string            `yaml:"passive_ports"` // the range data ports must lie in
	Identities   []ProfileIdentity `yaml:"identities"`
	Control      *ProfileControl   `yaml:"control"`
	// State names a state adapter: a command that puts any gateway into the states the
	// @needs-control scenarios need (README: "State adapters"). Give control or state.
	State    *ProfileState   `yaml:"state"`
	Timeouts ProfileTimeouts `yaml:"timeouts"`
	Strict   bool            `yaml:"strict"`
	// Capabilities say what the target can do; a scenario needing what it cannot is
	// UNSUPPORTED, never FAILED.
	Capabilities ProfileCapabilities `yaml:"capabilities"`
	// Scope lists the requirements this run certifies (empty: all). The others are reported
	// OUT OF SCOPE and do not decide the exit code.
	Scope []catalogue.ID `yaml:"scope"`
	// Reset lets the suite reset the target (control API POST /reset) around scenarios that
	// put it into a state. Default true for a target with a control API. A reset wipes the
	// target's registrations, receipts and journal: set false for a shared gateway, whose
	// state-changing scenarios are then UNSUPPORTED.
	Reset *bool `yaml:"reset"`

	dir   string
	pool  *x509.CertPool
	certs map[string]*tls.Certificate
}

// NegativeFixtures are the suite's identities a correct gateway refuses.
var NegativeFixtures = []string{"expired", "not-yet-valid", "foreign-ca", "revoked", "wrong-key-usage", "personal"}

// ProfileIdentity is one certificate with its login.
type ProfileIdentity struct {
	Name        string   `yaml:"name"`
	Cert        string   `yaml:"cert"`
	Key         string   `yaml:"key"`
	P12         string   `yaml:"p12"`
	P12Password string   `yaml:"p12_password"`
	Username    string   `yaml:"username"`
	Password    string   `yaml:"password"`
	Folders     []string `yaml:"folders"`
}

// ProfileControl is the target's control API (optional).
type ProfileControl struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
}

// ProfileCapabilities say what a target can do.
type ProfileCapabilities struct {
	// Receipts: the gateway writes status files to /out (default true). false: scenarios
	// judged by receipts are UNSUPPORTED.
	Receipts *bool `yaml:"receipts"`
}

// Receipts reports whether the target makes receipts.
func (p *Profile) Receipts() bool { return p.Capabilities.Receipts == nil || *p.Capabilities.Receipts }

// MayReset reports whether the suite may reset the target.
func (p *Profile) MayReset() bool { return p.Reset == nil || *p.Reset }

// ProfileState is a state adapter.
type ProfileState struct {
	// Command is run with sh -c, the action and its arguments appended.
	Command string `yaml:"command"`
	// Env is added to the command's environment (e.g. the gateway's admin URL and token).
	Env map[string]string `yaml:"env"`
	// Timeout bounds one action (default 60s).
	Timeout Duration `yaml:"timeout"`
	// Clock is the target's clock: real (default: scenarios that move time are UNSUPPORTED)
	// or virtual (the adapter's advance action moves it).
	Clock string `yaml:"clock"`
}

// ProfileTimeouts bound the waits of the suite.
type ProfileTimeouts struct {
	Operation Duration `yaml:"operation"` // one FTPS connection, from dial to close
	Receipt   Duration `yaml:"receipt"`   // waiting for a receipt in /out
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// MaxProfileSize bounds a target profile: real ones are a few KiB.
const MaxProfileSize = 1 << 20

// LoadProfile reads a YAML profile; ${NAME} is replaced by the environment variable NAME,
// and relative paths are relative to the profile's folder.
func LoadProfile(path string) (*Profile, error) {
	raw, err := certs.ReadSmallFile(path, MaxProfileSize, "a target profile (a YAML file of a few KiB)")
	if err != nil {
		return nil, err
	}
	// ${NAME} is expanded in values only, never in comments.
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var missing []string
	var expand func(n *yaml.Node)
	expand = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
				name := envRef.FindStringSubmatch(m)[1]
				v, ok := os.LookupEnv(name)
				if !ok {
					missing = append(missing, name)
				}
				return v
			})
		}
		for _, c := range n.Content {
			expand(c)
		}
	}
	expand(&doc)
	if raw, err = yaml.Marshal(&doc); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: environment variables not set: %s", path, strings.Join(missing, ", "))
	}
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	p.dir = abs
	if err := p.prepare(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// Path resolves a path of the profile: relative paths are relative to its folder.
func (p *Profile) Path(rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.dir, rel)
}

// prepare checks the profile, applies defaults and loads the certificates.
func (p *Profile) prepare() error {
	if p.Mode == "" {
		p.Mode = "explicit"
	}
	if p.PassivePorts == "" {
		p.PassivePorts = "36000-39999"
	}
	if host, _, err := net.SplitHostPort(p.Address); err == nil && p.ServerName == "" {
		p.ServerName = host // the name the gateway's certificate must carry
	}
	if p.Timeouts.Operation == 0 {
		p.Timeouts.Operation = Duration(20 * time.Second)
	}
	if p.Timeouts.Receipt == 0 {
		p.Timeouts.Receipt = Duration(60 * time.Second)
	}
	var errs []error
	if p.Timeouts.Operation < 0 || p.Timeouts.Receipt < 0 {
		errs = append(errs, errors.New("timeouts: operation and receipt must be positive durations"))
	}
	if p.Address == "" {
		errs = append(errs, errors.New("address is required (host:port of the FTPS control connection)"))
	}
	if p.Mode != "explicit" && p.Mode != "implicit" {
		errs = append(errs, fmt.Errorf("mode %q: must be explicit or implicit", p.Mode))
	}
	if _, _, err := ParseRange(p.PassivePorts); err != nil {
		errs = append(errs, fmt.Errorf("passive_ports %q: must be LO-HI", p.PassivePorts))
	}
	if p.CA == "" {
		errs = append(errs, errors.New("ca is required (PEM bundle that verifies the gateway's certificate)"))
	} else if pool, err := certs.LoadCAPool(p.Path(p.CA)); err != nil {
		errs = append(errs, fmt.Errorf("ca: %w", err))
	} else {
		p.pool = pool
	}
	if p.Control != nil && p.Control.URL == "" {
		errs = append(errs, errors.New("control.url is required when control is given"))
	}
	if p.State != nil {
		switch {
		case p.Control != nil:
			errs = append(errs, errors.New("give control (the simulator's control API) or state (a state adapter), not both"))
		case strings.TrimSpace(p.State.Command) == "":
			errs = append(errs, errors.New("state.command is required when state is given"))
		case p.State.Clock != "" && p.State.Clock != "real" && p.State.Clock != "virtual":
			errs = append(errs, fmt.Errorf("state.clock %q: must be real or virtual", p.State.Clock))
		}
		if p.State.Timeout == 0 {
			p.State.Timeout = Duration(60 * time.Second)
		}
		if p.State.Clock == "" {
			p.State.Clock = "real"
		}
	}
	for _, id := range p.Scope {
		if !id.Valid() {
			errs = append(errs, fmt.Errorf("scope: %q is not a requirement id (e.g. GW-TLS-01)", id))
		}
	}
	p.certs = map[string]*tls.Certificate{}
	for i, id := range p.Identities {
		if id.Name == "" {
			errs = append(errs, fmt.Errorf("identities[%d]: name is required", i))
			continue
		}
		if _, dup := p.certs[id.Name]; dup {
			errs = append(errs, fmt.Errorf("identities: %q given twice", id.Name))
			continue
		}
		cert, err := p.loadCert(id)
		if err != nil {
			errs = append(errs, fmt.Errorf("identity %s: %w", id.Name, err))
			continue
		}
		p.certs[id.Name] = cert
	}
	return errors.Join(errs...)
}

func (p *Profile) loadCert(id ProfileIdentity) (*tls.Certificate, error) {
	switch {
	case id.Cert != "" && id.Key != "":
		c, err := tls.LoadX509KeyPair(p.Path(id.Cert), p.Path(id.Key))
		return &c, err
	case id.P12 != "":
		data, err := certs.ReadFileLimited(p.Path(id.P12), certs.MaxFileSize)
		if err != nil {
			return nil, err
		}
		c, err := certs.KeyPairFromPKCS12(data, id.P12Password)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id.P12, err)
		}
		return &c, nil
	}
	return nil, errors.New("give cert and key (PEM) or p12 and p12_password")
}

// Identity returns a profile identity and its certificate.
func (p *Profile) Identity(name string) (ProfileIdentity, *tls.Certificate, bool) {
	for _, id := range p.Identities {
		if id.Name == name {
			return id, p.certs[name], true
		}
	}
	return ProfileIdentity{}, nil, false
}

// ClientOptions are the FTPS client settings to reach the target as identity name ("" for
// none); false when the profile has no such identity.
func (p *Profile) ClientOptions(name string) (ftpsclient.Options, ProfileIdentity, bool) {
	opts := ftpsclient.Options{Addr: p.Address, ServerName: p.ServerName, RootCAs: p.pool, Implicit: p.Mode == "implicit",
		Timeout: time.Duration(p.Timeouts.Operation)}
	if name == "" {
		return opts, ProfileIdentity{}, true
	}
	id, cert, ok := p.Identity(name)
	opts.Certificate = cert
	return opts, id, ok
}

// ProfileFromManifest builds the profile of an ftpsgw simulator from its PKI manifest.
func ProfileFromManifest(m *certs.Manifest, name, address, controlURL, passivePorts string) (*Profile, error) {
	p := &Profile{Name: name, Address: address, CA: m.Path(m.CA.Bundle), ServerName: "localhost", PassivePorts: passivePorts}
	if controlURL != "" {
		p.Control = &ProfileControl{URL: controlURL}
	}
	for _, id := range m.Identities {
		pi := ProfileIdentity{Name: id.Name, Cert: m.Path(id.Chain), Key: m.Path(id.Key),
			Username: id.Username, Password: id.Password, Folders: id.Roles}
		if id.P12 != "" {
			pi.P12, pi.P12Password = m.Path(id.P12), id.P12Password
		}
		p.Identities = append(p.Identities, pi)
	}
	p.dir = m.Dir()
	return p, p.prepare()
}

// Duration is a time.Duration written as "20s" in YAML.
type Duration time.Duration

// MarshalYAML writes "20s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalYAML reads "20s", "1m30s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: %q is not a positive duration (e.g. 20s, 1m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// ParseRange reads a port range "LO-HI".
func ParseRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if !ok || errA != nil || errB != nil || a < 1 || b > 65535 || a > b {
		return 0, 0, fmt.Errorf("%q is not a port range LO-HI", s)
	}
	return a, b, nil
}

// Redacted is the profile as YAML with its secrets replaced: passwords, PKCS#12 passwords, the
// control API token and the state adapter's environment values (a profile's ${VARS} are
// already expanded in it). Paths and names stay: they say what was certified.
func (p *Profile) Redacted() ([]byte, error) {
	c := *p
	const gone = "<redacted>"
	c.Identities = append([]ProfileIdentity(nil), p.Identities...)
	for i := range c.Identities {
		if c.Identities[i].Password != "" {
			c.Identities[i].Password = gone
		}
		if c.Identities[i].P12Password != "" {
			c.Identities[i].P12Password = gone
		}
	}
	if p.Control != nil {
		ctl := *p.Control
		if ctl.Token != "" {
			ctl.Token = gone
		}
		c.Control = &ctl
	}
	if p.State != nil {
		st := *p.State
		st.Env = map[string]string{}
		for k := range p.State.Env {
			st.Env[k] = gone
		}
		c.State = &st
	}
	return yaml.Marshal(&c)
}
