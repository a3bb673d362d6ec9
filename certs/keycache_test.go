package certs

import (
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestCachedKeysKeepPKIsApart: two PKIs from one key cache share keys slot by slot, yet a
// client certificate of one does not verify against the other's CAs (their CA names differ).
func TestCachedKeysKeepPKIsApart(t *testing.T) {
	cache := &KeyCache{Dir: t.TempDir()}
	a, err := NewPKI(Options{Keys: cache})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewPKI(Options{Keys: cache})
	if err != nil {
		t.Fatal(err)
	}
	ma, _ := a.Client("moces")
	mb, _ := b.Client("moces")
	if !ma.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(mb.Cert.PublicKey) {
		t.Error("the second PKI did not take moces's key from the cache")
	}
	if a.Root.Cert.Subject.CommonName == b.Root.Cert.Subject.CommonName {
		t.Errorf("two PKIs share the root name %q", a.Root.Cert.Subject.CommonName)
	}
	pool := x509.NewCertPool()
	pool.AddCert(b.Root.Cert)
	inter := x509.NewCertPool()
	inter.AddCert(b.Issuing.Cert)
	if _, err := ma.Cert.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("a client certificate of one PKI verifies against another PKI's CAs")
	}
	if _, err := mb.Cert.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("a client certificate does not verify against its own PKI: %v", err)
	}
}

// TestKeyCacheRepairsAndClears: a cache file that is not a key of its type is replaced; Clear
// removes the cached keys and nothing else.
func TestKeyCacheRepairsAndClears(t *testing.T) {
	dir := t.TempDir()
	cache := &KeyCache{Dir: dir}
	if !cache.owned() { // the cache's own folder (marked), then one of its files spoiled
		t.Fatal("an empty folder was not claimed")
	}
	os.MkdirAll(filepath.Join(dir, string(KeyECDSA)), 0o700)
	os.WriteFile(filepath.Join(dir, string(KeyECDSA), "0.pem"), []byte("garbage"), 0o600)
	mine := filepath.Join(dir, "notes.txt")
	os.WriteFile(mine, []byte("mine"), 0o600)
	if _, err := NewPKI(Options{Keys: cache}); err != nil {
		t.Fatal(err)
	}
	if _, err := readCachedKey(filepath.Join(dir, string(KeyECDSA), "0.pem"), KeyECDSA); err != nil {
		t.Errorf("the garbage key file was not replaced: %v", err)
	}
	if _, err := readCachedKey(filepath.Join(dir, string(KeyECDSA), "0.pem"), KeyRSA); err == nil {
		t.Error("an ECDSA key was taken for an RSA one")
	}
	n, err := cache.Clear()
	if err != nil || n < 10 {
		t.Fatalf("Clear: %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, string(KeyECDSA))); err == nil {
		t.Error("the key folder is still there")
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "mine" {
		t.Errorf("Clear touched a file it did not make: %v", err)
	}
	t.Setenv(KeyCacheEnv, "off")
	if DefaultKeyCache() != nil {
		t.Errorf("%s=off still gives a cache", KeyCacheEnv)
	}
}

// TestKeyCacheLeavesAForeignFolderAlone: FTPSGW_KEY_CACHE pointed at a folder with files of
// its own (and no marker): keys are generated without reading or writing there, and Clear
// refuses with every file left as it was.
func TestKeyCacheLeavesAForeignFolderAlone(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, string(KeyECDSA), "0.pem")
	os.MkdirAll(filepath.Dir(mine), 0o700)
	os.WriteFile(mine, []byte("my own file"), 0o600)
	cache := &KeyCache{Dir: dir}
	if _, err := NewPKI(Options{Keys: cache}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "my own file" {
		t.Errorf("the cache overwrote a file in a folder that is not its own: %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, string(KeyECDSA), "*.pem")); len(left) != 1 {
		t.Errorf("the cache wrote into a folder that is not its own: %v", left)
	}
	if n, err := cache.Clear(); err == nil || n != 0 {
		t.Errorf("Clear of a folder that is not a cache: %d, %v", n, err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("Clear deleted a file it did not make: %v", err)
	}
}
