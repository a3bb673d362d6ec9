package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// KeyAlgorithm chooses the key type of every certificate in a test PKI.
type KeyAlgorithm string

const (
	// KeyECDSA is ECDSA P-256 with ECDSA-SHA256 signatures: small and fast, the default.
	KeyECDSA KeyAlgorithm = "ecdsa"
	// KeyRSAPSS is RSA 3072 with RSA-PSS SHA-256 signatures, as in the published OCES3 samples.
	KeyRSAPSS KeyAlgorithm = "rsa-pss"
	// KeyRSA is RSA 2048 with PKCS#1 v1.5 SHA-256 signatures, as OCES II certificates.
	KeyRSA KeyAlgorithm = "rsa"
)

// KeyAlgorithms lists every algorithm NewPKI issues, for flags and messages.
var KeyAlgorithms = []KeyAlgorithm{KeyECDSA, KeyRSA, KeyRSAPSS}

// Describe says what the algorithm is, for reports and the adapter contract.
func (a KeyAlgorithm) Describe() string {
	switch a {
	case KeyRSA:
		return "RSA 2048 keys, SHA-256 PKCS#1 v1.5 signatures, as OCES II"
	case KeyRSAPSS:
		return "RSA 3072 keys, SHA-256 RSA-PSS signatures, as OCES3"
	case KeyECDSA:
		return "ECDSA P-256 keys, SHA-256 signatures, not used by OCES"
	}
	return string(a)
}

// KeyAlgorithmOf names the algorithm of a certificate's key and signature ("" for others).
func KeyAlgorithmOf(c *x509.Certificate) KeyAlgorithm {
	switch {
	case c.PublicKeyAlgorithm == x509.ECDSA:
		return KeyECDSA
	case c.PublicKeyAlgorithm == x509.RSA && c.SignatureAlgorithm == x509.SHA256WithRSAPSS:
		return KeyRSAPSS
	case c.PublicKeyAlgorithm == x509.RSA:
		return KeyRSA
	}
	return ""
}

// ParseKeyAlgorithm reads a --key value.
func ParseKeyAlgorithm(s string) (KeyAlgorithm, error) {
	for _, a := range KeyAlgorithms {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown key algorithm %q: use %q, %q or %q", s, KeyECDSA, KeyRSA, KeyRSAPSS)
}

// Defect names a deliberate flaw in a negative client fixture. A gateway must refuse each one
// during the TLS handshake even though its identity is registered with a valid password.
type Defect string

const (
	DefectNone          Defect = ""
	DefectExpired       Defect = "expired"
	DefectNotYetValid   Defect = "not-yet-valid"
	DefectForeignCA     Defect = "foreign-ca"
	DefectRevoked       Defect = "revoked"
	DefectWrongKeyUsage Defect = "wrong-key-usage"
)

// ClientSpec describes one client certificate to issue.
type ClientSpec struct {
	Name       string   // file and manifest name, e.g. "moces"
	Identity   Identity // what the subject says
	CommonName string   // person or system name
	OrgName    string   // company name; written as "<name> // CVR:<cvr>" for OCES II
	Employee   bool     // OCES3: DK-E (employee) instead of DK-O (organisation)
	Roles      []string // service folders the security system grants
	Defect     Defect
}

// IssuedCert is a certificate with its private key and the chain above it (issuer first).
type IssuedCert struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// PKI is a complete test hierarchy: a root, an issuing CA, a CRL, a gateway server
// certificate, client certificates, and a foreign CA that nobody trusts.
type PKI struct {
	Algorithm   KeyAlgorithm
	Root        IssuedCert
	Issuing     IssuedCert
	ForeignRoot IssuedCert
	Server      IssuedCert
	Impostors   []Impostor // server certificates a client must refuse (client certification)
	Clients     []IssuedClient
	CRL         []byte // DER, signed by the issuing CA
	CRLNumber   *big.Int
	NextUpdate  time.Time
}

// IssuedClient is a client certificate with the spec it was made from.
type IssuedClient struct {
	Spec ClientSpec
	IssuedCert
}

// Impostor is a gateway certificate a correct client refuses: it proves the client checks
// whom it sends credentials and tax data to.
type Impostor struct {
	Name string // ImpostorForeignCA or ImpostorWrongHost
	Why  string
	IssuedCert
}

// The impostor certificates of a test PKI.
const (
	// ImpostorForeignCA names the gateway's own host names but is issued by the foreign CA.
	ImpostorForeignCA = "foreign-ca"
	// ImpostorWrongHost is issued by the trusted CA, for another host name only.
	ImpostorWrongHost = "wrong-host"
	// ImpostorHostName is the only name in the wrong-host certificate (.invalid never resolves).
	ImpostorHostName = "impostor.ftpsgw.invalid"
)

// Options for NewPKI.
type Options struct {
	// Keys, when set, gives the PKI's keys from a cache instead of generating them
	// (certificates are still issued anew, under CA names of this PKI's own).
	Keys        *KeyCache
	Algorithm   KeyAlgorithm
	ServerNames []string     // extra DNS names or IP addresses for the gateway certificate
	Clients     []ClientSpec // nil: DefaultClients()
	Now         time.Time    // zero: time.Now()
}

// Names in the test hierarchy. Every one says TEST so nobody mistakes it for a real OCES CA.
const (
	RootCAName     = "ftpsgw TEST Systemtest Root CA"
	IssuingCAName  = "ftpsgw TEST Systemtest OCES CA"
	ForeignCAName  = "ftpsgw TEST Foreign CA (not trusted by the gateway)"
	pkiOrgName     = "ftpsgw TEST PKI - not a real OCES CA"
	leafValidity   = 3 * 365 * 24 * time.Hour
	caValidity     = 10 * 365 * 24 * time.Hour
	crlValidity    = 365 * 24 * time.Hour
	serverHostName = "localhost"
)

// The roles (service folders) used by the default identities.
const (
	ServiceHeartbeat = "FTPSGW.Heartbeat"
	ServiceUdlaan    = "eKapital.Rente.Udlaan"
	ServiceIndlaan   = "eKapital.Rente.Indlaan"
	ServicePantebrev = "eKapital.Rente.Pantebreve"
)

// DefaultClients is the set of identities `ftpsgw pki init` issues: every kind of OCES
// certificate, two login-capable certificates sharing CVR 19552101 (for the private /out rule),
// a second company, a personal certificate, and one negative fixture per Defect.
func DefaultClients() []ClientSpec {
	return []ClientSpec{
		{Name: "moces", Identity: Identity{CVR: "19552101", Kind: KindRID, ID: "60134540"},
			CommonName: "Test Medarbejder", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat, ServiceUdlaan}},
		{Name: "voces", Identity: Identity{CVR: "19552101", Kind: KindUID, ID: "OCSP01-SYSTEMTEST-XXXIV"},
			CommonName: "Testbureau ApS indberetning", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat, ServiceIndlaan}},
		{Name: "foces", Identity: Identity{CVR: "19552101", Kind: KindFID, ID: "74839201"},
			CommonName: "Testbureau FTP-klient", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat}},
		{Name: "other-company", Identity: Identity{CVR: "29403473", Kind: KindRID, ID: "11223344"},
			CommonName: "Anden Medarbejder", OrgName: "Andet Pengeinstitut A/S",
			Roles: []string{ServiceHeartbeat, ServiceUdlaan, ServicePantebrev}},
		{Name: "oces3-org", Identity: Identity{CVR: "34051178", Kind: KindUI, ID: "5f1c3a0e-8d7b-4c2a-9e61-2b3f4a5c6d7e"},
			CommonName: "Systemtest Organisation", OrgName: "OCES3 Testvirksomhed ApS",
			Roles: []string{ServiceHeartbeat, ServiceUdlaan}},
		{Name: "oces3-employee", Identity: Identity{CVR: "34051178", Kind: KindUI, ID: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"},
			CommonName: "Systemtest Medarbejder", OrgName: "OCES3 Testvirksomhed ApS", Employee: true,
			Roles: []string{ServiceHeartbeat}},
		{Name: "personal", Identity: Identity{Kind: KindPID, ID: "9208-2002-2-123456789012"},
			CommonName: "Test Person"},
		{Name: "expired", Identity: Identity{CVR: "19552101", Kind: KindRID, ID: "90000001"},
			CommonName: "Udloebet Medarbejder", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat}, Defect: DefectExpired},
		{Name: "not-yet-valid", Identity: Identity{CVR: "19552101", Kind: KindRID, ID: "90000002"},
			CommonName: "Fremtidig Medarbejder", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat}, Defect: DefectNotYetValid},
		{Name: "foreign-ca", Identity: Identity{CVR: "19552101", Kind: KindRID, ID: "90000003"},
			CommonName: "Fremmed Medarbejder", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat}, Defect: DefectForeignCA},
		{Name: "revoked", Identity: Identity{CVR: "19552101", Kind: KindRID, ID: "90000004"},
			CommonName: "Spaerret Medarbejder", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat}, Defect: DefectRevoked},
		{Name: "wrong-key-usage", Identity: Identity{CVR: "19552101", Kind: KindRID, ID: "90000005"},
			CommonName: "Forkert Brug Medarbejder", OrgName: "Testbureau ApS",
			Roles: []string{ServiceHeartbeat}, Defect: DefectWrongKeyUsage},
	}
}

// NewPKI issues a complete test hierarchy in memory.
func NewPKI(opts Options) (*PKI, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = KeyECDSA
	}
	if _, err := ParseKeyAlgorithm(string(opts.Algorithm)); err != nil {
		return nil, err
	}
	if opts.Clients == nil {
		opts.Clients = DefaultClients()
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	var idb [4]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, err
	}
	iss := issuer{alg: opts.Algorithm, now: now, keys: opts.Keys, slot: new(int), id: hex.EncodeToString(idb[:])}
	p := &PKI{Algorithm: opts.Algorithm}

	var err error
	if p.Root, err = iss.ca(RootCAName, nil); err != nil {
		return nil, err
	}
	if p.Issuing, err = iss.ca(IssuingCAName, &p.Root); err != nil {
		return nil, err
	}
	if p.ForeignRoot, err = iss.ca(ForeignCAName, nil); err != nil {
		return nil, err
	}
	if p.Server, err = iss.server(&p.Issuing, opts.ServerNames); err != nil {
		return nil, err
	}
	if p.Impostors, err = iss.impostors(p, opts.ServerNames); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var revoked []x509.RevocationListEntry
	for _, spec := range opts.Clients {
		if spec.Name == "" || seen[spec.Name] {
			return nil, fmt.Errorf("client certificate name %q is empty or used twice", spec.Name)
		}
		seen[spec.Name] = true
		parent := &p.Issuing
		if spec.Defect == DefectForeignCA {
			parent = &p.ForeignRoot
		}
		c, err := iss.client(parent, spec)
		if err != nil {
			return nil, fmt.Errorf("issuing %s: %w", spec.Name, err)
		}
		if spec.Defect == DefectRevoked {
			revoked = append(revoked, x509.RevocationListEntry{
				SerialNumber: c.Cert.SerialNumber, RevocationTime: now.Add(-time.Hour),
				ReasonCode: 1, // keyCompromise
			})
		}
		p.Clients = append(p.Clients, IssuedClient{Spec: spec, IssuedCert: c})
	}
	p.CRLNumber = big.NewInt(1)
	p.NextUpdate = now.Add(crlValidity)
	p.CRL, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: p.CRLNumber, ThisUpdate: now.Add(-time.Hour), NextUpdate: p.NextUpdate,
		RevokedCertificateEntries: revoked,
		SignatureAlgorithm:        sigAlg(opts.Algorithm),
	}, p.Issuing.Cert, p.Issuing.Key)
	if err != nil {
		return nil, fmt.Errorf("signing CRL: %w", err)
	}
	return p, nil
}

// Client returns the issued client certificate with the given name.
func (p *PKI) Client(name string) (IssuedClient, bool) {
	for _, c := range p.Clients {
		if c.Spec.Name == name {
			return c, true
		}
	}
	return IssuedClient{}, false
}

type issuer struct {
	alg  KeyAlgorithm
	now  time.Time
	keys *KeyCache // nil: every key generated
	slot *int      // the next cache slot
	id   string    // this PKI's id: its CAs' names carry it
}

// key is the next key of the PKI: from the key cache when it has one (slot by slot, in the
// order NewPKI issues), else generated.
func (i issuer) key() (crypto.Signer, error) {
	if i.keys == nil {
		return generateKey(i.alg)
	}
	slot := *i.slot
	*i.slot++
	return i.keys.Key(i.alg, slot)
}

func sigAlg(alg KeyAlgorithm) x509.SignatureAlgorithm {
	switch alg {
	case KeyRSAPSS:
		return x509.SHA256WithRSAPSS
	case KeyRSA:
		return x509.SHA256WithRSA
	}
	return x509.ECDSAWithSHA256
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func (i issuer) sign(tmpl *x509.Certificate, parent *IssuedCert, key crypto.Signer) (IssuedCert, error) {
	sn, err := serial()
	if err != nil {
		return IssuedCert{}, err
	}
	tmpl.SerialNumber = sn
	tmpl.SignatureAlgorithm = sigAlg(i.alg)
	signerCert, signerKey := tmpl, key
	var chain []*x509.Certificate
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
		chain = append([]*x509.Certificate{parent.Cert}, parent.Chain...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return IssuedCert{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return IssuedCert{}, err
	}
	return IssuedCert{Cert: cert, Key: key, Chain: chain}, nil
}

func (i issuer) ca(name string, parent *IssuedCert) (IssuedCert, error) {
	key, err := i.key()
	if err != nil {
		return IssuedCert{}, err
	}
	if i.keys != nil {
		// Cached keys repeat across PKIs: a name of this PKI's own keeps another PKI's
		// certificates (issued under the same key) from chaining to this one.
		name += " [" + i.id + "]"
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{pkiOrgName}, Country: []string{"DK"}},
		NotBefore:             i.now.Add(-24 * time.Hour),
		NotAfter:              i.now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if parent != nil {
		tmpl.MaxPathLenZero = true
	}
	return i.sign(tmpl, parent, key)
}

// server issues the gateway's certificate: localhost, the loopback addresses and names.
func (i issuer) server(parent *IssuedCert, names []string) (IssuedCert, error) {
	return i.serverFor(parent, append([]string{serverHostName}, names...), []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
}

func (i issuer) serverFor(parent *IssuedCert, names []string, ips []net.IP) (IssuedCert, error) {
	key, err := i.key()
	if err != nil {
		return IssuedCert{}, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0], Organization: []string{"ftpsgw TEST gateway"}, Country: []string{"DK"}},
		NotBefore:   i.now.Add(-time.Hour),
		NotAfter:    i.now.Add(leafValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips,
	}
	if i.alg != KeyECDSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return i.sign(tmpl, parent, key)
}

// impostors issues the two certificates of an impostor gateway: the right names from an
// untrusted CA, and a trusted CA's certificate for another host.
func (i issuer) impostors(p *PKI, names []string) ([]Impostor, error) {
	foreign, err := i.server(&p.ForeignRoot, names)
	if err != nil {
		return nil, err
	}
	wrong, err := i.serverFor(&p.Issuing, []string{ImpostorHostName}, nil)
	if err != nil {
		return nil, err
	}
	return []Impostor{
		{Name: ImpostorForeignCA, Why: "the gateway's host names, issued by " + ForeignCAName, IssuedCert: foreign},
		{Name: ImpostorWrongHost, Why: "issued by the trusted CA for " + ImpostorHostName + " only", IssuedCert: wrong},
	}, nil
}

// Subject builds an OCES-shaped subject for an identity: serialNumber CVR:…-RID:… and
// O=<name> // CVR:<cvr> for OCES II; organizationIdentifier NTRDK-<cvr> and
// serialNumber UI:DK-O:G:<uuid> for OCES3; serialNumber PID:… for personal certificates.
func Subject(spec ClientSpec) (pkix.Name, error) {
	id := spec.Identity
	name := pkix.Name{CommonName: spec.CommonName, Country: []string{"DK"}}
	switch id.Kind {
	case KindPID:
		name.SerialNumber = "PID:" + id.ID
	case KindUI:
		if err := id.Validate(); err != nil {
			return name, err
		}
		holder := "DK-O"
		if spec.Employee {
			holder = "DK-E"
		}
		name.SerialNumber = "UI:" + holder + ":G:" + id.ID
		name.Organization = []string{spec.OrgName}
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{
			Type: oidOrganizationIdentifier, Value: "NTRDK-" + id.CVR,
		})
	default:
		if err := id.Validate(); err != nil {
			return name, err
		}
		name.SerialNumber = id.String()
		name.Organization = []string{spec.OrgName + " // CVR:" + id.CVR}
	}
	if name.CommonName == "" {
		return name, errors.New("a client certificate needs a common name")
	}
	return name, nil
}

func (i issuer) client(parent *IssuedCert, spec ClientSpec) (IssuedCert, error) {
	subject, err := Subject(spec)
	if err != nil {
		return IssuedCert{}, err
	}
	key, err := i.key()
	if err != nil {
		return IssuedCert{}, err
	}
	tmpl := &x509.Certificate{
		Subject:     subject,
		NotBefore:   i.now.Add(-time.Hour),
		NotAfter:    i.now.Add(leafValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	switch spec.Defect {
	case DefectExpired:
		tmpl.NotBefore, tmpl.NotAfter = i.now.Add(-2*365*24*time.Hour), i.now.Add(-24*time.Hour)
	case DefectNotYetValid:
		// Years ahead, so that virtual-clock tests moving weeks forward never make it valid.
		tmpl.NotBefore, tmpl.NotAfter = i.now.Add(5*365*24*time.Hour), i.now.Add(8*365*24*time.Hour)
	case DefectWrongKeyUsage:
		// A server-only certificate: no clientAuth extended key usage, no digitalSignature.
		tmpl.KeyUsage = x509.KeyUsageKeyAgreement
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case DefectNone, DefectForeignCA, DefectRevoked:
	default:
		return IssuedCert{}, fmt.Errorf("unknown defect %q", spec.Defect)
	}
	return i.sign(tmpl, parent, key)
}
