package reports

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// A bundle is one tar archive a third party can check without trusting whoever ran the
// certification: the reports, results.json, the run's journal (when the target was a
// simulator) and the profile with its secrets removed, a MANIFEST.json of every file's
// SHA-256, and MANIFEST.sig, an ed25519 signature of the manifest (absent in an unsigned
// bundle, whose digests still verify).

const (
	bundleManifest  = "MANIFEST.json"
	bundleSignature = "MANIFEST.sig"
)

// BundleManifest lists a bundle's files and their digests.
type BundleManifest struct {
	Format  string            `json:"format"` // "ftpsgw-bundle/1"
	Created time.Time         `json:"created"`
	Files   map[string]string `json:"files"` // name -> SHA-256 (hex)
	// Signer is the SHA-256 of the signing public key (empty: unsigned).
	Signer string `json:"signer,omitempty"`
}

// WriteBundle writes the archive: files (name -> content) and their manifest, signed with
// key when it is not nil. It writes beside path and renames into place.
func WriteBundle(path string, files map[string][]byte, key ed25519.PrivateKey) error {
	m := BundleManifest{Format: "ftpsgw-bundle/1", Created: time.Now().UTC().Truncate(time.Second), Files: map[string]string{}}
	names := make([]string, 0, len(files))
	for name, data := range files {
		if name == bundleManifest || name == bundleSignature || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
			return fmt.Errorf("bundle: a file may not be named %q", name)
		}
		sum := sha256.Sum256(data)
		m.Files[name] = hex.EncodeToString(sum[:])
		names = append(names, name)
	}
	sort.Strings(names)
	if key != nil {
		m.Signer = keyID(key.Public().(ed25519.PublicKey))
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add(bundleManifest, manifest); err != nil {
		return err
	}
	if key != nil {
		sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, manifest)) + "\n"
		if err := add(bundleSignature, []byte(sig)); err != nil {
			return err
		}
	}
	for _, name := range names {
		if err := add(name, files[name]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// BundleCheck is what VerifyBundle found.
type BundleCheck struct {
	Files    int
	Signed   bool
	Verified bool // the signature checked with the given key
	Results  *Results
}

// VerifyBundle checks every file's digest against the manifest (a changed, missing or extra
// file is named), and, with pub, the manifest's signature. A signed bundle without pub is an
// error (its signature would go unchecked); an unsigned one verifies its digests only.
func VerifyBundle(path string, pub ed25519.PublicKey) (*BundleCheck, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(io.LimitReader(f, 1<<30))
	contents := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not a bundle: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%s: %s is not a regular file", path, h.Name)
		}
		if _, dup := contents[h.Name]; dup {
			return nil, fmt.Errorf("%s: %s twice", path, h.Name)
		}
		data, err := io.ReadAll(io.LimitReader(tr, 256<<20))
		if err != nil {
			return nil, err
		}
		contents[h.Name] = data
	}
	raw, ok := contents[bundleManifest]
	if !ok {
		return nil, fmt.Errorf("%s: no %s", path, bundleManifest)
	}
	var m BundleManifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != "ftpsgw-bundle/1" {
		return nil, fmt.Errorf("%s: %s is not an ftpsgw-bundle/1 manifest (%v)", path, bundleManifest, err)
	}
	var problems []string
	for name, want := range m.Files {
		data, ok := contents[name]
		if !ok {
			problems = append(problems, name+": missing")
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
			problems = append(problems, name+": changed (its SHA-256 is not the manifest's)")
		}
	}
	for name := range contents {
		if _, listed := m.Files[name]; !listed && name != bundleManifest && name != bundleSignature {
			problems = append(problems, name+": not in the manifest")
		}
	}
	check := &BundleCheck{Files: len(m.Files)}
	sig, signed := contents[bundleSignature]
	check.Signed = signed
	switch {
	case signed && pub == nil:
		problems = append(problems, "the bundle is signed: give the signer's public key (--key) to check it")
	case signed:
		s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
		if err != nil || !ed25519.Verify(pub, raw, s) {
			problems = append(problems, fmt.Sprintf("%s: the signature does not verify with the key %s (signed by %s)", bundleSignature, keyID(pub), m.Signer))
		} else {
			check.Verified = true
		}
	case pub != nil:
		problems = append(problems, "the bundle is not signed, so the key given cannot vouch for it")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return check, fmt.Errorf("%s does not verify:\n  %s", path, strings.Join(problems, "\n  "))
	}
	if data, ok := contents["results.json"]; ok {
		var res Results
		if err := json.Unmarshal(data, &res); err == nil && res.Validate() == nil {
			check.Results = &res
		}
	}
	return check, nil
}

// keyID is the SHA-256 (hex, first 16 bytes) of a public key.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:16])
}

// GenerateSigningKeys writes a new ed25519 key pair into dir: ftpsgw-sign.key (private,
// PKCS#8 PEM, 0600) and ftpsgw-sign.pub (PKIX PEM). It refuses to replace either.
func GenerateSigningKeys(dir string) (privPath, pubPath string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	privPath, pubPath = filepath.Join(dir, "ftpsgw-sign.key"), filepath.Join(dir, "ftpsgw-sign.pub")
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s exists: keys init never replaces a key", p)
		}
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return "", "", err
	}
	return privPath, pubPath, nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ParseSigningKey reads an ed25519 private key from PEM (PKCS#8).
func ParseSigningKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an ed25519 private key")
	}
	return priv, nil
}

// ParsePublicKey reads an ed25519 public key from PEM (PKIX).
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an ed25519 public key")
	}
	return pub, nil
}
