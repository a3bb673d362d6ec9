package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/reports"
	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// signKeyEnv holds the bundle signing key: its PEM, or the path of a file holding it.
const signKeyEnv = "FTPSGW_SIGN_KEY"

// bundleFlags are --bundle and --sign-key, shared by certify and certify-client.
type bundleFlags struct{ path, key *string }

func bindBundleFlags(fs *flag.FlagSet) bundleFlags {
	return bundleFlags{
		path: fs.String("bundle", "", "also write one archive of the reports, results.json, the run's journal (a simulator) and the redacted profile, with a manifest of SHA-256 digests"),
		key:  fs.String("sign-key", "", "ed25519 private key (PEM, from 'ftpsgw keys init') to sign the bundle; default: $"+signKeyEnv+" (PEM or a path); none: unsigned"),
	}
}

// signingKey reads the key named by --sign-key or FTPSGW_SIGN_KEY (nil: sign nothing).
func (b bundleFlags) signingKey() (ed25519.PrivateKey, error) {
	src := *b.key
	if src == "" {
		src = os.Getenv(signKeyEnv)
	}
	if src == "" {
		return nil, nil
	}
	data := []byte(src)
	if !strings.Contains(src, "-----BEGIN") {
		var err error
		if data, err = certs.ReadSmallFile(src, 64<<10, "a signing key"); err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
	}
	k, err := reports.ParseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return k, nil
}

// writeBundle archives a finished run: the report folder's files, the journal of a target
// with a control API, and the profile without its secrets.
func writeBundle(path string, key ed25519.PrivateKey, dir string, p *target.Profile) error {
	files := map[string][]byte{}
	for _, name := range []string{"junit.xml", "report.html", "results.json", "cucumber.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		files["reports/"+name] = data
	}
	if data, ok := files["reports/results.json"]; ok {
		files["results.json"] = data
		delete(files, "reports/results.json")
	}
	if p != nil {
		red, err := p.Redacted()
		if err != nil {
			return err
		}
		files["profile.yaml"] = red
		if p.Control != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			j, err := control.NewClient(p.Control.URL, p.Control.Token).Journal(ctx, control.JournalQuery{})
			if err != nil {
				return fmt.Errorf("the run's journal: %w", err)
			}
			if files["journal.json"], err = json.MarshalIndent(j, "", "  "); err != nil {
				return err
			}
		}
	}
	return reports.WriteBundle(path, files, key)
}

// runKeys: `ftpsgw keys init --out DIR` makes a bundle signing key pair.
func runKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(stderr, "Usage: ftpsgw keys init --out DIR\n\nWrites an ed25519 key pair for signing bundles: DIR/ftpsgw-sign.key (keep it secret) and\nDIR/ftpsgw-sign.pub (hand it to whoever verifies). Never replaces a key.")
		return exitUsage
	}
	fs := flag.NewFlagSet("ftpsgw keys init", flag.ContinueOnError)
	out := fs.String("out", "", "folder for the key pair (required)")
	if code, stop := parseFlags(fs, args[1:], stderr); stop {
		return code
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "ftpsgw keys init: --out DIR is required")
		return exitUsage
	}
	priv, pub, err := reports.GenerateSigningKeys(*out)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	fmt.Fprintf(stdout, "signing key: %s (secret: sign with --sign-key %s or %s)\npublic key:  %s (verify with: ftpsgw verify BUNDLE --key %s)\n", priv, priv, signKeyEnv, pub, pub)
	return exitOK
}

// runVerify: `ftpsgw verify BUNDLE [--key PUB]` checks a bundle and says what it certifies.
func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpsgw verify", flag.ContinueOnError)
	keyPath := fs.String("key", "", "the signer's public key (ftpsgw-sign.pub); a signed bundle needs it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw verify BUNDLE [--key PUB]\n\nChecks every file of a bundle against its manifest and, with --key, the manifest's\nsignature; prints the verdict it certifies. Exit 0: it verifies; 1: it does not; 2: usage.\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, code, stop := parseInterspersed(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "ftpsgw verify: give one bundle")
		fs.Usage()
		return exitUsage
	}
	var pub ed25519.PublicKey
	if *keyPath != "" {
		data, err := certs.ReadSmallFile(*keyPath, 64<<10, "a public key")
		if err == nil {
			pub, err = reports.ParsePublicKey(data)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ftpsgw verify: --key: %v\n", err)
			return exitUsage
		}
	}
	check, err := reports.VerifyBundle(pos[0], pub)
	if err != nil {
		fmt.Fprintf(stdout, "NOT VERIFIED: %v\n", err)
		return exitFailure
	}
	switch {
	case check.Verified:
		fmt.Fprintf(stdout, "verified: %d files match the manifest, and its signature verifies with %s\n", check.Files, *keyPath)
	default:
		fmt.Fprintf(stdout, "digests verified: %d files match the manifest; the bundle is UNSIGNED, so nothing says who made it\n", check.Files)
	}
	if r := check.Results; r != nil {
		fmt.Fprintf(stdout, "it certifies: %s %s of %s (%s), ftpsgw %s, %s\n", r.Run.Kind, r.Run.Verdict, r.Run.Target.Name, r.Run.Target.Address,
			r.Run.BinaryVersion, r.Run.Started.Format(time.RFC3339))
	}
	return exitOK
}
