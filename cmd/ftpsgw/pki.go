package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ftpsgw/ftpsgw/certs"
)

func runPKI(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage:\n  ftpsgw pki init --out DIR [--force] [--key ecdsa|rsa|rsa-pss] [--server-name NAME]...\n  ftpsgw pki show FILE [--password P12PASSWORD]\n  ftpsgw pki clear-cache   (drop the cached test keys that certify, certify-client and simtest issue from)")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "init":
		return runPKIInit(args[1:], stdout, stderr)
	case "show":
		return runPKIShow(args[1:], stdout, stderr)
	case "clear-cache":
		return runPKIClearCache(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "ftpsgw pki: unknown subcommand %q (use init, show or clear-cache)\n", args[0])
	return exitUsage
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runPKIInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpsgw pki init", flag.ContinueOnError)
	out := fs.String("out", "", "folder to write the PKI into (required)")
	force := fs.Bool("force", false, "replace an existing PKI in --out")
	key := fs.String("key", string(certs.KeyECDSA), "key algorithm: ecdsa (P-256), rsa (RSA 2048 as OCES II) or rsa-pss (RSA 3072, RSA-PSS signatures as OCES3)")
	var names stringList
	fs.Var(&names, "server-name", "extra DNS name or IP address for the gateway certificate (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw pki init --out DIR [flags]\n\nWrites a TEST PKI: root and issuing CA, CRL, gateway certificate, one client certificate\nof every OCES kind (PEM and .p12), negative fixtures, and DIR/manifest.json.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	alg, err := certs.ParseKeyAlgorithm(*key)
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw pki init: --key: %v\n", err)
		return exitUsage
	}
	pki, err := certs.NewPKI(certs.Options{Algorithm: alg, ServerNames: names})
	if err != nil {
		return fail(stderr, "%v", err)
	}
	m, err := certs.WriteDir(*out, pki, *force)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	printManifest(stdout, m)
	return exitOK
}

func printManifest(w io.Writer, m *certs.Manifest) {
	fmt.Fprintf(w, "Test PKI written to %s (%s keys). TEST certificates only.\n", m.Dir(), m.Algorithm)
	fmt.Fprintf(w, "  CA bundle to trust: %s\n  CRL:               %s\n  Gateway cert:      %s\n\n", m.Path(m.CA.Bundle), m.Path(m.CA.CRL), m.Path(m.Server.Cert))
	fmt.Fprintf(w, "  %-16s %-5s %-52s %s\n", "NAME", "KIND", "USERNAME", "LOGIN")
	for _, id := range m.Identities {
		login := "yes"
		if !id.CanLogin {
			login = "no (" + string(id.Defect) + ")"
			if id.Defect == "" {
				login = "no (personal certificate)"
			}
		}
		user := id.Username
		if user == "" {
			user = "-"
		}
		fmt.Fprintf(w, "  %-16s %-5s %-52s %s\n", id.Name, id.Kind, user, login)
	}
	fmt.Fprintf(w, "\nPasswords and .p12 passwords are in %s.\n", m.Path(certs.ManifestFile))
}

func runPKIShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpsgw pki show", flag.ContinueOnError)
	password := fs.String("password", "", "password of a .p12 file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw pki show FILE [--password P]\n\nPrints the OCES identity and gateway username of a certificate (PEM, DER or .p12).\n\nFlags:")
		fs.PrintDefaults()
	}
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 || file == "" {
		fs.Usage()
		return exitUsage
	}
	cert, err := certs.ReadCertificateFile(file, *password)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	fmt.Fprintf(stdout, "Subject:      %s\nIssuer:       %s\nValid:        %s to %s\nSHA-256:      %s\n",
		cert.Subject, cert.Issuer, cert.NotBefore.UTC().Format("2006-01-02 15:04:05Z"),
		cert.NotAfter.UTC().Format("2006-01-02 15:04:05Z"), certs.Fingerprint(cert))
	id, err := certs.FromCertificate(cert)
	if id.Kind != "" {
		fmt.Fprintf(stdout, "Identity:     %s (kind %s)\n", id, id.Kind)
	}
	if err != nil {
		if errors.Is(err, certs.ErrPersonalCertificate) {
			fmt.Fprintln(stdout, "Username:     none")
		}
		return fail(stderr, "this certificate cannot log in to the gateway: %v", err)
	}
	fmt.Fprintf(stdout, "Username:     %s\n", id.Username())
	if as4 := id.UsernameWith(certs.UIDAS4Client); as4 != id.Username() {
		fmt.Fprintf(stdout, "              %s as SKAT's AS4 client would build it (ASSUMED alternative; serve setting uid_mapping: as4-client)\n", as4)
	}
	return exitOK
}

// runPKIClearCache drops the key cache certify, certify-client and simtest issue their test
// PKIs from (certs.DefaultKeyCache); the next run makes the keys again.
func runPKIClearCache(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "ftpsgw pki clear-cache: unexpected argument %q\n", args[0])
		return exitUsage
	}
	cache := certs.DefaultKeyCache()
	if cache == nil {
		fmt.Fprintf(stdout, "no key cache (%s=off, or no user cache folder)\n", certs.KeyCacheEnv)
		return exitOK
	}
	n, err := cache.Clear()
	if err != nil {
		return fail(stderr, "clearing the key cache %s: %v", cache.Dir, err)
	}
	fmt.Fprintf(stdout, "removed %d cached test keys from %s\n", n, cache.Dir)
	return exitOK
}
