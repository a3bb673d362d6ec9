package steps

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/steps/ftpsclient"
)

// proftpdLike is a minimal FTPS server that behaves as ProFTPD does after PROT C: it refuses
// PROT C with 534, and for a LIST answers 150 and then waits for a TLS handshake on the data
// connection, until the client closes it (then 425).
func proftpdLike(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveProftpdLike(c, cfg)
		}
	}()
	return ln.Addr().String()
}

func serveProftpdLike(c net.Conn, cfg *tls.Config) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var conn net.Conn = c
	r := bufio.NewReader(conn)
	reply := func(s string) { fmt.Fprintf(conn, "%s\r\n", s) }
	reply("220 fake ProFTPD")
	var data net.Listener
	defer func() {
		if data != nil {
			data.Close()
		}
	}()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(verb) {
		case "AUTH":
			reply("234 AUTH TLS ok")
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			conn, r = tc, bufio.NewReader(tc)
		case "USER":
			reply("331 password required")
		case "PASS":
			reply("230 logged in")
		case "PBSZ":
			reply("200 PBSZ 0")
		case "PROT":
			if strings.Contains(strings.ToUpper(line), "PROT C") {
				reply("534 PROT C not allowed")
			} else {
				reply("200 PROT P")
			}
		case "EPSV":
			data, _ = net.Listen("tcp", "127.0.0.1:0")
			reply(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", data.Addr().(*net.TCPAddr).Port))
		case "LIST", "STOR":
			reply("150 opening data connection")
			dc, err := data.Accept()
			if err != nil {
				reply("425 no data connection")
				continue
			}
			// Waits for the client's TLS handshake as ProFTPD does; a clear client sends none.
			hs := tls.Server(dc, cfg)
			_ = dc.SetDeadline(time.Now().Add(25 * time.Second))
			err = hs.Handshake()
			dc.Close()
			if err != nil {
				reply("425 unable to build data connection: TLS negotiation failed")
				continue
			}
			reply("226 transfer complete")
		default:
			reply("502 not implemented")
		}
	}
}

// TestClearListingRefusedWithoutWaitingOutTheDeadline: against a server that answers 150 and
// waits for TLS on the data connection, a listing after PROT C is judged refused within
// seconds (no byte in clear, no 2xx), not after the operation deadline.
func TestClearListingRefusedWithoutWaitingOutTheDeadline(t *testing.T) {
	p, err := certs.NewPKI(certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srvCert := tls.Certificate{PrivateKey: p.Server.Key, Leaf: p.Server.Cert, Certificate: [][]byte{p.Server.Cert.Raw}}
	for _, c := range p.Server.Chain {
		srvCert.Certificate = append(srvCert.Certificate, c.Raw)
	}
	addr := proftpdLike(t, &tls.Config{Certificates: []tls.Certificate{srvCert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12})
	pool := x509.NewCertPool()
	pool.AddCert(p.Root.Cert)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	opts := ftpsclient.Options{Addr: addr, ServerName: "localhost", RootCAs: pool, Timeout: 30 * time.Second}
	raw, err := ftpsclient.DialRaw(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.AuthTLS(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _, err := raw.Login("u", "p"); err != nil || code != 230 {
		t.Fatalf("login: %d %v", code, err)
	}
	raw.Cmd("PBSZ 0")
	if code, _, _ := raw.Cmd("PROT C"); code != 534 {
		t.Fatalf("PROT C: %d", code)
	}
	w := newWorld(&Suite{profile: &Profile{}})
	w.ctx, w.raw = ctx, raw
	start := time.Now()
	x := &tlsSteps{World: w}
	if err := x.clearTransfer("LIST /", false); err != nil {
		t.Errorf("a listing that never flowed in clear was judged: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the listing took %s: the harness waited out the server instead of closing the data connection", took)
	}
	if x.clearData != 0 {
		t.Errorf("clear bytes counted: %d", x.clearData)
	}
}
