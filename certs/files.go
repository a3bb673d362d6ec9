package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"

	"software.sslmate.com/src/go-pkcs12"
)

// MaxFileSize bounds every certificate, key, bundle or PKCS#12 file ftpsgw reads: real ones
// are a few KiB; anything larger is not one (and /dev/zero never ends).
const MaxFileSize = 4 << 20

// ErrTooLarge: a file is larger than what it should be can ever be.
var ErrTooLarge = errors.New("too large")

// ReadFileLimited reads a certificate, key, bundle or PKCS#12 file of at most limit bytes;
// a larger one is an error, not a truncated read.
func ReadFileLimited(path string, limit int64) ([]byte, error) {
	return ReadSmallFile(path, limit, "a certificate, key or PKCS#12 file")
}

// ReadSmallFile reads a file of at most limit bytes that should be what (a target profile,
// a PKI manifest); a larger one is an error that says so, not a truncated read.
func ReadSmallFile(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes, so it is not %s: %w", path, limit, what, ErrTooLarge)
	}
	return data, nil
}

// KeyPairFromPKCS12 decodes a PKCS#12 (.p12) file into a TLS certificate: its key, its leaf
// and the chain it carries.
func KeyPairFromPKCS12(data []byte, password string) (tls.Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return tls.Certificate{}, ErrP12Password
		}
		return tls.Certificate{}, err
	}
	c := tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, ca := range chain {
		c.Certificate = append(c.Certificate, ca.Raw)
	}
	return c, nil
}
