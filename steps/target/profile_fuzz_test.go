package target

import (
	"os"

	"path/filepath"
	"testing"

	"github.com/ftpsgw/ftpsgw/certs"
)

// FuzzLoadProfile: any file given as --target is loaded or refused with an error; never a
// panic, and a loaded profile is complete.
func FuzzLoadProfile(f *testing.F) {
	for _, s := range []string{
		"name: x\naddress: 127.0.0.1:21\nca: ca.pem\n",
		"address: ${HOME}\nmode: implicit\nca: /dev/null\nidentities: [{name: a, p12: x.p12, p12_password: y}]\n",
		"passive_ports: 9-1\ntimeouts: {operation: -1s, receipt: x}\n",
		"control: {url: ''}\nidentities: [{name: a}, {name: a}]\n",
		"{", "- - -", "address: !!binary AAAA", "&a [*a]", "",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	// A real CA bundle beside the profile, so inputs can get past the CA check.
	pki, err := certs.NewPKI(certs.Options{})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := certs.WriteDir(filepath.Join(dir, "pki"), pki, false); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("address: 127.0.0.1:21\nca: pki/ca/bundle.pem\ntimeouts: {operation: -1s}\n"))
	f.Add([]byte("address: 127.0.0.1:21\nca: pki/ca/bundle.pem\nidentities: [{name: moces, cert: pki/clients/moces/chain.pem, key: pki/clients/moces/key.pem}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "target.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := LoadProfile(path)
		if err != nil {
			return
		}
		if p.Address == "" || (p.Mode != "explicit" && p.Mode != "implicit") || p.pool == nil || p.Timeouts.Operation <= 0 {
			t.Fatalf("loaded an incomplete profile from %q: %+v", data, p)
		}
	})
}
