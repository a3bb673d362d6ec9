package container_test

// A test a vendor can copy into their own repository: start the simulator in a container,
// upload a file as their client would, and wait for its receipts. It uses only the public
// packages (container, control, certs) and jlaffaye/ftp.

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/simulator/container"
)

func TestExampleVendorUploadAndReceipts(t *testing.T) {
	container.SkipIfNoDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	gw, err := container.Run(ctx, container.WithVirtualClock())
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Terminate(context.Background())

	// The container made a test PKI; its manifest names every certificate and password.
	id, _ := gw.Manifest.Lookup("moces")
	cert, err := gw.Manifest.ClientCertificate(id)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := gw.Manifest.CAPool()
	if err != nil {
		t.Fatal(err)
	}
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, // the gateway speaks TLS 1.2 only
		ServerName: "localhost", RootCAs: pool, Certificates: []tls.Certificate{cert},
		ClientSessionCache: tls.NewLRUClientSessionCache(8), // data connections resume the session
	}
	c, err := ftp.Dial(gw.FTPS, ftp.DialWithExplicitTLS(tlsConf), ftp.DialWithContext(ctx), ftp.DialWithTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if err := c.Login(id.Username, id.Password); err != nil { // CVR_<cvr>_RID_<rid> from the certificate
		t.Fatal(err)
	}
	if err := c.Stor("/FTPSGW.Heartbeat/vendor_20261126_1.txt", strings.NewReader("ping\n")); err != nil {
		t.Fatal(err)
	}
	// Receipts come later; on a virtual clock the test decides when.
	if _, err := gw.Control.Advance(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"1", "2"} {
		r, err := c.Retr("/out/status_FTPSGW.Heartbeat_vendor_20261126_1.txt_" + code + ".xml")
		if err != nil {
			t.Fatalf("receipt _%s: %v", code, err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Contains(body, []byte("<filename>/CVR_19552101/RID_60134540/FTPSGW.Heartbeat/vendor_20261126_1.txt</filename>")) {
			t.Fatalf("receipt _%s: %v\n%s", code, err, body)
		}
	}
}
