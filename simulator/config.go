// Package simulator is the reference FTPS gateway: an FTPS front on ftpserverlib that follows
// the rules in GATEWAY.md (TLS 1.2 only, certificate AND password, role folders, a private /out
// per certificate, unique file names), durable state in an embedded SQLite database, and a
// journal of everything each session did, which the conformance suites read as evidence.
package simulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config holds every setting of the simulator. The YAML file given with --config uses the
// field names in the yaml tags; flags override the file. Settings marked ASSUMED model
// behaviour nobody outside SKAT knows; their defaults are the stricter choice.
type Config struct {
	// Listen is the explicit-FTPS control address (AUTH TLS). Port 0 picks a free port.
	Listen string `yaml:"listen"`
	// ImplicitListen, when set, adds an implicit-FTPS listener (TLS from the first byte). ASSUMED option.
	ImplicitListen string `yaml:"implicit_listen"`
	// PassivePorts is the passive data port range "LO-HI" (documented: 36000-39999). "0" picks free ports.
	PassivePorts string `yaml:"passive_ports"`
	// PublicHost is the IPv4 address announced in PASV replies; empty: the control connection's local address.
	PublicHost string `yaml:"public_host"`
	// Data is the folder for the database, uploads, /out folders and ready.json.
	Data string `yaml:"data"`
	// PKI is a folder made by `ftpsgw pki init`; empty: <data>/pki, created on first start.
	PKI string `yaml:"pki"`
	// SessionReuse: "required" refuses a data connection that does not resume its control
	// connection's TLS session; "off" only records whether it did. ASSUMED (GATEWAY.md §2).
	// Default off: Go's TLS server resumes TLS 1.2 sessions by ticket only, and clients that
	// resume by session ID alone (curl 7.88 with OpenSSL sends no ticket) could never pass.
	SessionReuse string `yaml:"session_reuse"`
	// UniqueScope is where a file name must be unique: certificate, cvr or global. ASSUMED.
	UniqueScope string `yaml:"unique_scope"`
	// ReuseReply: "receipt" accepts a reused name (226) and answers with a status_0 receipt only
	// (documented); "reject" also refuses the upload at once with 553. ASSUMED.
	ReuseReply string `yaml:"reuse_reply"`
	// OutDelete: "deny" (DELE in /out refused) or "allow" (a client may delete its own receipts). ASSUMED.
	OutDelete string `yaml:"out_delete"`
	// Login failure limits (no unbounded password guessing).
	Login LoginLimits `yaml:"login"`
	// IdleTimeout closes a control connection without commands (421).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// DataConnectTimeout bounds the wait for a passive data connection.
	DataConnectTimeout Duration `yaml:"data_connect_timeout"`
	// LogLevel: debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
}

// LoginLimits bound failed logins per client address and per identity.
type LoginLimits struct {
	MaxFailures int      `yaml:"max_failures"` // failures within Window before a lock-out
	Window      Duration `yaml:"window"`
	Lockout     Duration `yaml:"lockout"` // how long a lock-out lasts
}

// Setting values.
const (
	ReuseOff      = "off"
	ReuseRequired = "required"

	ScopeCertificate = "certificate"
	ScopeCVR         = "cvr"
	ScopeGlobal      = "global"

	ReuseReplyReceipt = "receipt"
	ReuseReplyReject  = "reject"

	OutDeleteDeny  = "deny"
	OutDeleteAllow = "allow"
)

// DefaultConfig returns the documented defaults: the real gateway's port numbers on loopback
// and the stricter choice for every assumed behaviour.
func DefaultConfig() Config {
	return Config{
		Listen:             "127.0.0.1:6381",
		PassivePorts:       "36000-39999",
		Data:               "ftpsgw-data",
		SessionReuse:       ReuseOff,
		UniqueScope:        ScopeCVR,
		ReuseReply:         ReuseReplyReceipt,
		OutDelete:          OutDeleteDeny,
		Login:              LoginLimits{MaxFailures: 5, Window: Duration(15 * time.Minute), Lockout: Duration(15 * time.Minute)},
		IdleTimeout:        Duration(5 * time.Minute),
		DataConnectTimeout: Duration(30 * time.Second),
		LogLevel:           "info",
	}
}

// LoadConfigFile reads a YAML config over the defaults. Unknown keys are errors.
func LoadConfigFile(path string, into *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Validate checks every setting and says which one is wrong.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	if c.ImplicitListen != "" {
		if _, _, err := net.SplitHostPort(c.ImplicitListen); err != nil {
			errs = append(errs, fmt.Errorf("implicit_listen %q: %w", c.ImplicitListen, err))
		}
	}
	if _, _, err := ParsePortRange(c.PassivePorts); err != nil {
		errs = append(errs, err)
	}
	if c.PublicHost != "" {
		if ip := net.ParseIP(c.PublicHost); ip == nil || ip.To4() == nil {
			errs = append(errs, fmt.Errorf("public_host %q: must be an IPv4 address (PASV can only announce IPv4)", c.PublicHost))
		}
	}
	if c.Data == "" {
		errs = append(errs, errors.New("data: a folder is required"))
	}
	oneOf := func(name, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("%s %q: must be one of %s", name, v, strings.Join(allowed, ", ")))
	}
	oneOf("session_reuse", c.SessionReuse, ReuseOff, ReuseRequired)
	oneOf("unique_scope", c.UniqueScope, ScopeCertificate, ScopeCVR, ScopeGlobal)
	oneOf("reuse_reply", c.ReuseReply, ReuseReplyReceipt, ReuseReplyReject)
	oneOf("out_delete", c.OutDelete, OutDeleteDeny, OutDeleteAllow)
	oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error")
	if c.Login.MaxFailures < 1 {
		errs = append(errs, fmt.Errorf("login.max_failures %d: must be at least 1", c.Login.MaxFailures))
	}
	if c.Login.Window <= 0 || c.Login.Lockout <= 0 {
		errs = append(errs, errors.New("login.window and login.lockout must be positive durations"))
	}
	if c.IdleTimeout < Duration(time.Second) || c.DataConnectTimeout < Duration(time.Second) {
		errs = append(errs, errors.New("idle_timeout and data_connect_timeout must be at least 1s"))
	}
	return errors.Join(errs...)
}

// ParsePortRange parses "LO-HI" (1024 ≤ LO ≤ HI ≤ 65535) or "0" (any free port: 0, 0).
func ParsePortRange(s string) (int, int, error) {
	if s == "0" {
		return 0, 0, nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if !ok || errA != nil || errB != nil || a < 1024 || b > 65535 || a > b {
		return 0, 0, fmt.Errorf("passive_ports %q: must be LO-HI with 1024 <= LO <= HI <= 65535, or 0 for any free port", s)
	}
	return a, b, nil
}

// Duration is a time.Duration written as "15m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads "90s", "15m", "1h30m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 90s, 15m, 1h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
