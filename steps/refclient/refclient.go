// Package refclient is the reference client adapter (`ftpsgw client`) on the project's own
// Go FTPS client: what a client that follows SKAT's rules does, for certify-client.
package refclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// Exit codes of the adapter contract.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitUnsupported = 127
)

// Run is the reference client adapter on the project's own Go FTPS client:
//
//	ftpsgw client upload FILE FOLDER
//	ftpsgw client receipts DIR
//
// configured by the FTPSGW_* variables of the adapter contract. It behaves as SKAT's rules
// ask of a client: TLS 1.2 with the certificate, PROT P, passive mode, session resumption, TYPE
// A for fixed-record files, a refusal to submit a name twice, and reconnection (up to 3
// attempts) when a connection drops before the upload completed.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: ftpsgw client upload FILE FOLDER | ftpsgw client receipts DIR\n\nThe reference client adapter for ftpsgw certify-client; configured by FTPSGW_HOST,\nFTPSGW_PORT, FTPSGW_CA, FTPSGW_CERT+FTPSGW_KEY or FTPSGW_P12+FTPSGW_P12_PASSWORD,\nFTPSGW_USERNAME, FTPSGW_PASSWORD, FTPSGW_STATE_DIR, FTPSGW_FORMAT.")
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	opts, err := clientOptions()
	if err != nil {
		return fail(stderr, "%v", err)
	}
	switch {
	case args[0] == "upload" && len(args) == 3:
		return clientUpload(opts, args[1], args[2], stdout, stderr)
	case args[0] == "receipts" && len(args) == 2:
		return clientReceipts(opts, args[1], stdout, stderr)
	case args[0] == "upload" || args[0] == "receipts":
		fmt.Fprintln(stderr, "ftpsgw client: wrong number of arguments")
		return ExitUsage
	}
	fmt.Fprintf(stderr, "ftpsgw client: unsupported action %q\n", args[0])
	return ExitUnsupported
}

func clientOptions() (ftpsclient.Options, error) {
	env := func(k string) string { return os.Getenv(k) }
	host, port := env("FTPSGW_HOST"), env("FTPSGW_PORT")
	if host == "" || port == "" || env("FTPSGW_USERNAME") == "" {
		return ftpsclient.Options{}, errors.New("FTPSGW_HOST, FTPSGW_PORT and FTPSGW_USERNAME must be set")
	}
	pool, err := certs.LoadCAPool(env("FTPSGW_CA"))
	if err != nil {
		return ftpsclient.Options{}, fmt.Errorf("FTPSGW_CA: %w", err)
	}
	var cert tls.Certificate
	switch {
	case env("FTPSGW_CERT") != "" && env("FTPSGW_KEY") != "":
		cert, err = tls.LoadX509KeyPair(env("FTPSGW_CERT"), env("FTPSGW_KEY"))
	case env("FTPSGW_P12") != "":
		var data []byte
		if data, err = certs.ReadFileLimited(env("FTPSGW_P12"), certs.MaxFileSize); err == nil {
			cert, err = certs.KeyPairFromPKCS12(data, env("FTPSGW_P12_PASSWORD"))
		}
	default:
		err = errors.New("set FTPSGW_CERT and FTPSGW_KEY, or FTPSGW_P12")
	}
	if err != nil {
		return ftpsclient.Options{}, fmt.Errorf("client certificate: %w", err)
	}
	return ftpsclient.Options{Addr: net.JoinHostPort(host, port), ServerName: host, RootCAs: pool, Certificate: &cert,
		Timeout: 60 * time.Second}, nil
}

func clientLogin(opts ftpsclient.Options) (*ftpsclient.Client, error) {
	c, err := ftpsclient.Dial(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	if err := c.Login(os.Getenv("FTPSGW_USERNAME"), os.Getenv("FTPSGW_PASSWORD")); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func submittedNames(state string) []string {
	f, err := os.Open(state)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func clientUpload(opts ftpsclient.Options, file, folder string, stdout, stderr io.Writer) int {
	name := filepath.Base(file)
	state := filepath.Join(os.Getenv("FTPSGW_STATE_DIR"), "submitted")
	if os.Getenv("FTPSGW_STATE_DIR") == "" {
		state = ".ftpsgw-submitted"
	}
	if slices.Contains(submittedNames(state), name) {
		return fail(stderr, "refusing: %s was submitted before; the gateway never accepts a name twice (choose a new name)", name)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	var last error
	for attempt := 1; attempt <= 3; attempt++ {
		last = clientTryUpload(opts, folder, name, data)
		if last == nil {
			f, err := os.OpenFile(state, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				fmt.Fprintln(f, name)
				f.Close()
			}
			fmt.Fprintf(stdout, "uploaded %s to %s (attempt %d)\n", name, folder, attempt)
			return ExitOK
		}
		// A refusal (4xx/5xx) is the gateway's answer: retrying would not change it.
		if code := ftpsclient.Code(last); code >= 400 {
			break
		}
		fmt.Fprintf(stderr, "attempt %d: %v; reconnecting\n", attempt, last)
		time.Sleep(500 * time.Millisecond)
	}
	return fail(stderr, "upload of %s failed: %v", name, last)
}

func clientTryUpload(opts ftpsclient.Options, folder, name string, data []byte) error {
	c, err := clientLogin(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if os.Getenv("FTPSGW_FORMAT") == "fixed-record" {
		if err := c.Type(ftp.TransferTypeASCII); err != nil {
			return err
		}
	}
	return c.Upload("/"+strings.Trim(folder, "/")+"/"+name, data)
}

func clientReceipts(opts ftpsclient.Options, dir string, stdout, stderr io.Writer) int {
	c, err := clientLogin(opts)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	defer c.Close()
	entries, err := c.List("/out")
	if err != nil {
		return fail(stderr, "LIST /out: %v", err)
	}
	n := 0
	for _, e := range entries {
		if e.Type != ftp.EntryTypeFile {
			continue
		}
		name := filepath.Base(e.Name)
		data, err := c.Download("/out/" + name)
		if err != nil {
			return fail(stderr, "RETR /out/%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fail(stderr, "%v", err)
		}
		n++
	}
	fmt.Fprintf(stdout, "fetched %d file(s) from /out\n", n)
	return ExitOK
}

func fail(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "ftpsgw client: "+format+"\n", a...)
	return ExitFailure
}
