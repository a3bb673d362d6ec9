package certs

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// ManifestFile is the name of the index `ftpsgw pki init` writes into its folder.
const ManifestFile = "manifest.json"

// ManifestVersion is bumped whenever the manifest's meaning changes.
const ManifestVersion = 1

// Manifest indexes a test PKI folder. All paths are relative to the folder.
type Manifest struct {
	Version    int                `json:"version"`
	Generated  time.Time          `json:"generated"`
	Algorithm  KeyAlgorithm       `json:"algorithm"`
	Note       string             `json:"note"`
	CA         ManifestCA         `json:"ca"`
	Server     ManifestServer     `json:"server"`
	Identities []ManifestIdentity `json:"identities"`

	dir string
}

// ManifestCA lists the CA files. Bundle (issuing + root) is what a gateway trusts for clients
// and what clients trust for the gateway.
type ManifestCA struct {
	Root        string `json:"root"`
	Issuing     string `json:"issuing"`
	Bundle      string `json:"bundle"`
	CRL         string `json:"crl"`
	ForeignRoot string `json:"foreign_root"`
}

// ManifestServer lists the gateway's own certificate.
type ManifestServer struct {
	Cert  string   `json:"cert"`
	Key   string   `json:"key"`
	Chain string   `json:"chain"` // certificate followed by the issuing CA
	Names []string `json:"names"`
	// Impostors are gateway certificates a correct client refuses (client certification).
	Impostors []ManifestImpostor `json:"impostors,omitempty"`
}

// ManifestImpostor is one impostor gateway certificate.
type ManifestImpostor struct {
	Name  string `json:"name"`
	Why   string `json:"why"`
	Chain string `json:"chain"`
	Key   string `json:"key"`
}

// ManifestIdentity is one client certificate and its intended registration.
type ManifestIdentity struct {
	Name        string   `json:"name"`
	Kind        Kind     `json:"kind"`
	CVR         string   `json:"cvr,omitempty"`
	ID          string   `json:"id"`
	Username    string   `json:"username,omitempty"`
	Password    string   `json:"password,omitempty"`
	Roles       []string `json:"roles"`
	Subject     string   `json:"subject"`
	Fingerprint string   `json:"sha256_fingerprint"`
	Cert        string   `json:"cert"`
	Key         string   `json:"key"`
	Chain       string   `json:"chain"`
	P12         string   `json:"p12"`
	P12Password string   `json:"p12_password"`
	// CanLogin is true for a certificate a correct gateway lets in with its password.
	CanLogin bool `json:"can_login"`
	// Defect names the deliberate flaw of a negative fixture; a gateway must refuse it.
	Defect Defect `json:"defect,omitempty"`
	// Why explains CanLogin=false for people reading the manifest.
	Why string `json:"why,omitempty"`
}

// Identity returns the parsed identity of the entry.
func (m ManifestIdentity) Identity() Identity {
	return Identity{CVR: m.CVR, Kind: m.Kind, ID: m.ID}
}

// Dir is the folder the manifest was loaded from.
func (m *Manifest) Dir() string { return m.dir }

// Path resolves a manifest-relative path.
func (m *Manifest) Path(rel string) string { return filepath.Join(m.dir, filepath.FromSlash(rel)) }

// Lookup returns the identity entry with the given name.
func (m *Manifest) Lookup(name string) (ManifestIdentity, bool) {
	for _, id := range m.Identities {
		if id.Name == name {
			return id, true
		}
	}
	return ManifestIdentity{}, false
}

// ErrExists is returned by WriteDir when the target folder is in use and force is not set.
var ErrExists = errors.New("folder already exists")

// WriteDir writes the PKI as PEM files, PKCS#12 files and manifest.json into dir. The folder is
// assembled beside dir and renamed into place, so a crash never leaves a half-written PKI.
// An existing PKI folder is replaced only with force; a non-empty folder that holds no
// manifest is never replaced.
func WriteDir(dir string, p *PKI, force bool) (*Manifest, error) {
	dir = filepath.Clean(dir)
	if err := checkTarget(dir, force); err != nil {
		return nil, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary folder beside %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	m, err := write(tmp, p)
	if err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	if !force {
		// Without --force only a missing or empty folder is replaced, and renaming onto one is
		// atomic: of several `pki init` into one folder at once, exactly one wins.
		// (syscall.Rename: os.Rename refuses any existing folder, an empty one too)
		if err := syscall.Rename(tmp, dir); err != nil {
			if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
				return nil, fmt.Errorf("%w: another process wrote into %s while this PKI was made; this one is discarded", ErrExists, dir)
			}
			return nil, fmt.Errorf("moving the new PKI into place: %w", err)
		}
		_ = syncDir(parent)
		m.dir = dir
		return m, nil
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return nil, fmt.Errorf("moving the old PKI aside: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return nil, fmt.Errorf("moving the new PKI into place: %w", err)
	}
	if old != "" {
		_ = os.RemoveAll(old)
	}
	_ = syncDir(parent)
	m.dir = dir
	return m, nil
}

func checkTarget(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("%w: %s is not empty and holds no %s, so it is not an ftpsgw PKI folder; choose another folder", ErrExists, dir, ManifestFile)
	}
	if !force {
		return fmt.Errorf("%w: %s already holds a PKI; use --force to replace it (its certificates and passwords will be lost)", ErrExists, dir)
	}
	return nil
}

func write(dir string, p *PKI) (*Manifest, error) {
	w := &pemWriter{dir: dir}
	m := &Manifest{
		Version: ManifestVersion, Generated: time.Now().UTC().Truncate(time.Second), Algorithm: p.Algorithm,
		Note: "TEST certificates made by ftpsgw for the simulator and conformance tests. Not OCES; never use them anywhere else.",
	}
	m.CA = ManifestCA{
		Root: w.certs("ca/root.pem", p.Root.Cert), Issuing: w.certs("ca/issuing.pem", p.Issuing.Cert),
		Bundle:      w.certs("ca/bundle.pem", p.Issuing.Cert, p.Root.Cert),
		ForeignRoot: w.certs("ca/foreign-root.pem", p.ForeignRoot.Cert),
		CRL:         w.file("ca/crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: p.CRL}), 0o644),
	}
	w.file("ca/crl.der", p.CRL, 0o644)
	// CA keys are kept so the CRL can be reissued; they are test keys and say so in the manifest.
	w.key("ca/issuing.key", p.Issuing.Key)
	m.Server = ManifestServer{
		Cert: w.certs("server/cert.pem", p.Server.Cert), Key: w.key("server/key.pem", p.Server.Key),
		Chain: w.certs("server/chain.pem", append([]*x509.Certificate{p.Server.Cert}, p.Server.Chain[:1]...)...),
		Names: append(append([]string{}, p.Server.Cert.DNSNames...), ipStrings(p.Server.Cert)...),
	}
	for _, imp := range p.Impostors {
		base := "server/impostor-" + imp.Name
		m.Server.Impostors = append(m.Server.Impostors, ManifestImpostor{Name: imp.Name, Why: imp.Why,
			Chain: w.certs(base+"-chain.pem", append([]*x509.Certificate{imp.Cert}, imp.Chain[:1]...)...),
			Key:   w.key(base+"-key.pem", imp.Key)})
	}
	for _, c := range p.Clients {
		base := "clients/" + c.Spec.Name + "/"
		entry := ManifestIdentity{
			Name: c.Spec.Name, Kind: c.Spec.Identity.Kind, CVR: c.Spec.Identity.CVR, ID: c.Spec.Identity.ID,
			Roles: append([]string{}, c.Spec.Roles...), Subject: c.Cert.Subject.String(),
			Fingerprint: Fingerprint(c.Cert), Defect: c.Spec.Defect,
			Cert: w.certs(base+"cert.pem", c.Cert), Key: w.key(base+"key.pem", c.Key),
			Chain: w.certs(base+"chain.pem", append([]*x509.Certificate{c.Cert}, c.Chain...)...),
		}
		if entry.Roles == nil {
			entry.Roles = []string{}
		}
		idErr := c.Spec.Identity.Validate()
		if idErr == nil {
			entry.Username = c.Spec.Identity.Username()
			entry.Password = w.secret(20)
		}
		switch {
		case idErr != nil:
			entry.Why = idErr.Error()
		case c.Spec.Defect != DefectNone:
			entry.Why = "negative fixture (" + string(c.Spec.Defect) + "): registered with a password, but a correct gateway refuses it in the TLS handshake"
		default:
			entry.CanLogin = true
		}
		entry.P12Password = w.secret(16)
		if w.err == nil {
			der, err := pkcs12.Modern.Encode(c.Key, c.Cert, c.Chain, entry.P12Password)
			if err != nil {
				return nil, fmt.Errorf("encoding %s.p12: %w", c.Spec.Name, err)
			}
			entry.P12 = w.file(base+c.Spec.Name+".p12", der, 0o600)
		}
		m.Identities = append(m.Identities, entry)
	}
	if w.err != nil {
		return nil, w.err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	w.file(ManifestFile, append(data, '\n'), 0o600)
	return m, w.err
}

func ipStrings(c *x509.Certificate) []string {
	var out []string
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// pemWriter writes files under dir and remembers the first error, so write stays readable.
type pemWriter struct {
	dir string
	err error
}

func (w *pemWriter) file(rel string, data []byte, mode os.FileMode) string {
	if w.err != nil {
		return rel
	}
	path := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		w.err = err
		return rel
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		w.err = err
		return rel
	}
	if _, err := f.Write(data); err != nil {
		w.err = err
	}
	if err := f.Sync(); err != nil && w.err == nil {
		w.err = err
	}
	if err := f.Close(); err != nil && w.err == nil {
		w.err = err
	}
	return rel
}

func (w *pemWriter) certs(rel string, certs ...*x509.Certificate) string {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return w.file(rel, buf.Bytes(), 0o644)
}

func (w *pemWriter) key(rel string, key any) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return rel
	}
	return w.file(rel, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

const secretAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

func (w *pemWriter) secret(n int) string {
	s, err := RandomSecret(n)
	if err != nil && w.err == nil {
		w.err = err
	}
	return s
}

// RandomSecret returns n characters from an unambiguous alphabet, from crypto/rand.
func RandomSecret(n int) (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(secretAlphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(secretAlphabet[i.Int64()])
	}
	return b.String(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// Fingerprint is the SHA-256 of the certificate's DER encoding, lower-case hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// LoadManifest reads dir/manifest.json and checks that every file it names exists.
func LoadManifest(dir string) (*Manifest, error) {
	data, err := ReadSmallFile(filepath.Join(dir, ManifestFile), MaxFileSize, "a PKI manifest")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s holds no %s: create a PKI with `ftpsgw pki init --out %s`", dir, ManifestFile, dir)
		}
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("%s: manifest version %d, this ftpsgw reads version %d; recreate the PKI", dir, m.Version, ManifestVersion)
	}
	m.dir = dir
	paths := []string{m.CA.Root, m.CA.Issuing, m.CA.Bundle, m.CA.CRL, m.Server.Cert, m.Server.Key}
	for _, id := range m.Identities {
		paths = append(paths, id.Cert, id.Key, id.P12)
	}
	for _, imp := range m.Server.Impostors {
		paths = append(paths, imp.Chain, imp.Key)
	}
	for _, p := range paths {
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, "..") {
			return nil, fmt.Errorf("%s: manifest names an invalid path %q", dir, p)
		}
		if _, err := os.Stat(m.Path(p)); err != nil {
			return nil, fmt.Errorf("%s: manifest names %s, which is missing: %w", dir, p, err)
		}
	}
	if err := m.checkIdentities(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// manifestWord is what an identity name, a role (a service folder) and a username may be:
// letters, digits, '.', '_' and '-', no path and nothing a shell or URL would read otherwise.
var manifestWord = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// checkIdentities refuses a manifest whose names, roles or usernames could be read as
// anything but a name: they end up in folder paths, URLs and printed command lines.
func (m *Manifest) checkIdentities() error {
	for i, id := range m.Identities {
		if !manifestWord.MatchString(id.Name) {
			return fmt.Errorf("identities[%d]: name %q: only letters, digits, '.', '_' and '-'", i, id.Name)
		}
		if id.Username != "" && (!manifestWord.MatchString(id.Username) || strings.Contains(id.Username, "..")) {
			return fmt.Errorf("identity %s: username %q: only letters, digits, '.', '_' and '-'", id.Name, id.Username)
		}
		for _, r := range id.Roles {
			if !manifestWord.MatchString(r) || strings.Contains(r, "..") {
				return fmt.Errorf("identity %s: role %q is not a service folder name (letters, digits, '.', '_' and '-', e.g. FTPSGW.Heartbeat)", id.Name, r)
			}
		}
	}
	return nil
}

// CAPool returns the trusted CA bundle (issuing + root) as a pool.
func (m *Manifest) CAPool() (*x509.CertPool, error) {
	return LoadCAPool(m.Path(m.CA.Bundle))
}

// LoadCAPool reads PEM certificates from a file into a pool.
func LoadCAPool(path string) (*x509.CertPool, error) {
	data, err := ReadFileLimited(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// ServerCertificate loads the gateway certificate with its chain.
func (m *Manifest) ServerCertificate() (tls.Certificate, error) {
	return tls.LoadX509KeyPair(m.Path(m.Server.Chain), m.Path(m.Server.Key))
}

// ImpostorCertificates loads the impostor gateway certificates by name (none for a PKI made
// before they existed).
func (m *Manifest) ImpostorCertificates() (map[string]tls.Certificate, error) {
	out := map[string]tls.Certificate{}
	for _, imp := range m.Server.Impostors {
		c, err := tls.LoadX509KeyPair(m.Path(imp.Chain), m.Path(imp.Key))
		if err != nil {
			return nil, fmt.Errorf("impostor certificate %s: %w", imp.Name, err)
		}
		out[imp.Name] = c
	}
	return out, nil
}

// ClientCertificate loads an identity's certificate and key (with chain) for a TLS client.
func (m *Manifest) ClientCertificate(id ManifestIdentity) (tls.Certificate, error) {
	return tls.LoadX509KeyPair(m.Path(id.Chain), m.Path(id.Key))
}

// LoadCRL reads and parses the CRL (PEM or DER).
func LoadCRL(path string) (*x509.RevocationList, error) {
	data, err := ReadFileLimited(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	return x509.ParseRevocationList(data)
}

// ErrP12Password means a PKCS#12 file could not be opened with the given password.
var ErrP12Password = errors.New("wrong or missing PKCS#12 password")

// ReadCertificateFile reads the first certificate of a PEM file or a PKCS#12 (.p12/.pfx) file.
func ReadCertificateFile(path, p12Password string) (*x509.Certificate, error) {
	data, err := ReadFileLimited(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		for ; b != nil; b, data = pem.Decode(data) {
			if b.Type == "CERTIFICATE" {
				return x509.ParseCertificate(b.Bytes)
			}
		}
		return nil, fmt.Errorf("%s: PEM file holds no CERTIFICATE block", path)
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		return c, nil
	}
	_, cert, _, err := pkcs12.DecodeChain(data, p12Password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fmt.Errorf("%s: %w (give it with --password)", path, ErrP12Password)
		}
		return nil, fmt.Errorf("%s is neither PEM, DER nor a readable PKCS#12 file: %w", path, err)
	}
	return cert, nil
}
