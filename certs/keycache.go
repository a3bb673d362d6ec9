package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// KeyCache keeps the private keys of test PKIs on disk, one file per key type and slot, so
// that issuing a PKI costs signatures, not key generation (an RSA 3072 key takes a second of
// CPU; a PKI holds some twenty). Certificates are still issued anew for every PKI, with CA
// names of their own (NewPKI), so two PKIs never trust each other's certificates although
// they share keys. The keys are TEST keys: anyone who can read the cache can read them.
type KeyCache struct {
	Dir string
}

// KeyCacheEnv names the environment variable that moves the cache (a folder) or turns it
// off ("off").
const KeyCacheEnv = "FTPSGW_KEY_CACHE"

// DefaultKeyCache is the cache in the user's cache folder (FTPSGW_KEY_CACHE moves it), or
// nil when it is turned off or there is no cache folder: keys are then generated per PKI.
func DefaultKeyCache() *KeyCache {
	dir := os.Getenv(KeyCacheEnv)
	switch dir {
	case "off":
		return nil
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return nil
		}
		dir = filepath.Join(base, "ftpsgw", "keys")
	}
	return &KeyCache{Dir: dir}
}

// keyCacheMarker makes a folder the key cache's own: it writes and deletes key files only in
// a folder it made (or found empty) and marked, never in someone else's.
const keyCacheMarker = ".ftpsgw-key-cache"

// owned reports whether the cache folder is the cache's own, claiming it when it is missing
// or empty.
func (c *KeyCache) owned() bool {
	if fi, err := os.Lstat(filepath.Join(c.Dir, keyCacheMarker)); err == nil {
		return fi.Mode().IsRegular()
	}
	entries, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		if os.MkdirAll(c.Dir, 0o700) != nil {
			return false
		}
	} else if err != nil || len(entries) > 0 {
		return false // a folder with files of its own: not ours
	}
	f, err := os.OpenFile(filepath.Join(c.Dir, keyCacheMarker), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return errors.Is(err, fs.ErrExist) // another process claimed it at the same moment
	}
	_, werr := f.WriteString("ftpsgw test-key cache: ftpsgw writes and deletes key files here (ftpsgw pki clear-cache).\n")
	return f.Close() == nil && werr == nil
}

// Key returns the cached key of a type in a slot, making and keeping it on a miss. A cache
// file that cannot be read as a key of that type is replaced. A folder that is not the
// cache's own (it holds files and no marker) is neither read nor written: keys are then
// generated as without a cache.
func (c *KeyCache) Key(alg KeyAlgorithm, slot int) (crypto.Signer, error) {
	if !c.owned() {
		return generateKey(alg)
	}
	path := filepath.Join(c.Dir, string(alg), strconv.Itoa(slot)+".pem")
	if k, err := readCachedKey(path, alg); err == nil {
		return k, nil
	}
	k, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return k, nil // a cache that cannot be written only costs time
	}
	return k, nil
}

// Clear removes the cached keys (ftpsgw pki clear-cache): only the key files and folders the
// cache made, never the folder it was pointed at.
func (c *KeyCache) Clear() (int, error) {
	if _, err := os.Lstat(c.Dir); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if fi, err := os.Lstat(filepath.Join(c.Dir, keyCacheMarker)); err != nil || !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not an ftpsgw key cache (no %s marker): nothing deleted", c.Dir, keyCacheMarker)
	}
	n := 0
	for _, alg := range []KeyAlgorithm{KeyECDSA, KeyRSA, KeyRSAPSS} {
		dir := filepath.Join(c.Dir, string(alg))
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || filepath.Ext(e.Name()) != ".pem" {
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return n, err
			}
			n++
		}
		_ = os.Remove(dir) // only when empty
	}
	return n, nil
}

func readCachedKey(path string, alg KeyAlgorithm) (crypto.Signer, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := ReadFileLimited(path, 64<<10)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok || !keyMatches(s, alg) {
		return nil, fmt.Errorf("%s: not a %s key", path, alg)
	}
	return s, nil
}

// generateKey makes a key of a type: RSA 3072 for rsa-pss (as OCES3), RSA 2048 for rsa (as
// OCES II), ECDSA P-256 for ecdsa.
func generateKey(alg KeyAlgorithm) (crypto.Signer, error) {
	switch alg {
	case KeyRSAPSS:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// keyMatches: k is a key generateKey makes for alg.
func keyMatches(k crypto.Signer, alg KeyAlgorithm) bool {
	switch key := k.(type) {
	case *rsa.PrivateKey:
		return (alg == KeyRSAPSS && key.N.BitLen() == 3072) || (alg == KeyRSA && key.N.BitLen() == 2048)
	case *ecdsa.PrivateKey:
		return alg == KeyECDSA && key.Curve == elliptic.P256()
	}
	return false
}

// writeFileAtomic writes data beside path and renames it into place (mode 0600).
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path + ".tmp-" + hex.EncodeToString(rnd[:])
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
