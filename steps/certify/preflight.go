package certify

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

// preflightWait bounds each preflight step (at most the profile's operation timeout), so a
// target that is not what the profile says is reported within seconds, not per scenario.
const preflightWait = 10 * time.Second

// Preflight checks that the target is an FTPS server as the profile describes it: a TCP
// connection, the 220 greeting (explicit) and AUTH TLS with a TLS handshake, or the TLS
// handshake first (implicit). It says in one sentence what is wrong.
func Preflight(ctx context.Context, p *target.Profile) error {
	wait := min(time.Duration(p.Timeouts.Operation), preflightWait)
	opts, _, _ := p.ClientOptions("")
	opts.Timeout = wait
	// A certificate the gateway accepts: moces, else the first that is not a negative fixture.
	names := []string{"moces"}
	for _, id := range p.Identities {
		if !slices.Contains(target.NegativeFixtures, id.Name) {
			names = append(names, id.Name)
		}
	}
	for _, n := range names {
		if o, _, ok := p.ClientOptions(n); ok && o.Certificate != nil {
			opts = o
			opts.Timeout = wait
			break
		}
	}
	d := net.Dialer{Timeout: wait}
	conn, err := d.DialContext(ctx, "tcp", p.Address)
	if err != nil {
		return fmt.Errorf("cannot reach the target's FTPS address %s: %w", p.Address, err)
	}
	conn.Close()
	r, err := ftpsclient.DialRaw(ctx, opts)
	if err != nil {
		return preflightError(p, wait, err)
	}
	defer r.Close()
	if !strings.HasPrefix(r.Greeting, "220") {
		return fmt.Errorf("%s greeted with %q, not 220: is it an FTP server?", p.Address, r.Greeting)
	}
	if opts.Implicit {
		return nil
	}
	if _, err := r.AuthTLS(ctx); err != nil {
		if strings.Contains(err.Error(), "AUTH TLS answered") {
			return fmt.Errorf("%s refused explicit FTPS: %v (does it offer FTPS at all? implicit FTPS needs mode: implicit)", p.Address, err)
		}
		return fmt.Errorf("%s: the TLS handshake after AUTH TLS failed: %v (check ca and server_name in the profile)", p.Address, err)
	}
	return nil
}

func preflightError(p *target.Profile, wait time.Duration, err error) error {
	timeout := errors.Is(err, os.ErrDeadlineExceeded)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		timeout = true
	}
	switch {
	case p.Mode == "implicit" && strings.Contains(err.Error(), "TLS handshake"):
		return fmt.Errorf("%s: no TLS handshake from the first byte (%v): is this an explicit FTPS port? set mode: explicit", p.Address, err)
	case p.Mode == "implicit" && timeout:
		return fmt.Errorf("%s: no TLS handshake within %s: is this an FTPS port?", p.Address, wait)
	case timeout:
		return fmt.Errorf("no 220 greeting within %s from %s: is this an implicit FTPS port? set mode: implicit", wait, p.Address)
	}
	return fmt.Errorf("%s did not greet as an FTP server: %v", p.Address, err)
}

// Alive tells whether the target still answers as an FTP server: a TCP connection and its 220
// greeting (after a TLS handshake on an implicit port, whatever certificate it shows: a
// simulator may be presenting an impostor on purpose). It judges nothing of the gateway:
// a run whose target is no longer Alive ends as ERROR.
func Alive(ctx context.Context, p *target.Profile) error {
	wait := min(time.Duration(p.Timeouts.Operation), preflightWait)
	d := net.Dialer{Timeout: wait}
	conn, err := d.DialContext(ctx, "tcp", p.Address)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", p.Address, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wait))
	var r io.Reader = conn
	if p.Mode == "implicit" {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: p.ServerName}) // liveness only: nothing is sent
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("%s: no TLS handshake: %w", p.Address, err)
		}
		r = tc
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220") {
		return fmt.Errorf("%s: no 220 greeting (%q, %v)", p.Address, strings.TrimSpace(line), err)
	}
	return nil
}
