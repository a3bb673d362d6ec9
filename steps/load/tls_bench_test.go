package load

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"

	"github.com/ftpsgw/ftpsgw/certs"
)

// BenchmarkTLS12Loopback is the physical ceiling of one FTPS data stream on this machine:
// Go's TLS 1.2 with ECDHE-ECDSA and AES-GCM over TCP loopback, both ends in this process
// (as client and server share the machine in `ftpsgw load`). MB/s is what b.SetBytes reports.
func BenchmarkTLS12Loopback(b *testing.B) {
	p, err := certs.NewPKI(certs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	chain := [][]byte{p.Server.Cert.Raw}
	for _, c := range p.Server.Chain {
		chain = append(chain, c.Raw)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.Root.Cert)
	for _, suite := range []struct {
		name string
		id   uint16
	}{{"AES128-GCM", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, {"AES256-GCM", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}} {
		b.Run(suite.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			srvConf := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite.id},
				Certificates: []tls.Certificate{{Certificate: chain, PrivateKey: p.Server.Key}}}
			done := make(chan int64, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- 0
					return
				}
				defer c.Close()
				n, _ := io.Copy(io.Discard, tls.Server(c, srvConf))
				done <- n
			}()
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c := tls.Client(raw, &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, ServerName: "localhost", RootCAs: pool})
			buf := make([]byte, 1<<20)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			<-done
		})
	}
}
