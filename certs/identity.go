// Package certs turns OCES certificates into gateway identities and issues a test PKI shaped
// like the real one (docs/GATEWAY.md §2–§3).
//
// The one rule everything else depends on lives here: an OCES certificate's subject names a
// CVR number plus a RID, UID, FID or (OCES3) UI value, and the gateway username is
// CVR_<cvr>_<KIND>_<id>. The simulator checks logins with it, the conformance steps predict
// usernames with it, and `ftpsgw pki show` prints it for vendors.
package certs

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Kind is the kind of identifier an OCES certificate carries next to the CVR number.
type Kind string

// The kinds of OCES identities. Only PID (personal) cannot log in to the gateway: it has no CVR.
const (
	KindUID Kind = "UID" // VOCES, company certificate (OCES II)
	KindRID Kind = "RID" // MOCES, employee certificate (OCES II)
	KindFID Kind = "FID" // FOCES, function certificate (OCES II)
	KindUI  Kind = "UI"  // OCES3 (MitID Erhverv) organisation or employee certificate
	KindPID Kind = "PID" // personal certificate: no CVR, no gateway username
)

// Limits of the identifier part. The 47-character UID limit is documented (docs/GATEWAY.md §3);
// the same bound is applied to RID and FID, which are shorter in practice.
const (
	MaxIDLength = 47
	uuidLength  = 36
)

// Identity is who a certificate speaks for, as far as the gateway is concerned.
type Identity struct {
	CVR  string // 8 digits; empty for personal (PID) identities
	Kind Kind
	ID   string // RID, UID, FID, UI uuid, or the PID number
}

// Username is the gateway login name: CVR_<cvr>_<KIND>_<id>, e.g. CVR_19552101_RID_60134540.
// The identifier is kept as it stands in the certificate (a UID's dashes stay dashes).
// It returns "" for an identity that cannot log in (see Validate).
func (id Identity) Username() string {
	if id.Validate() != nil {
		return ""
	}
	return "CVR_" + id.CVR + "_" + string(id.Kind) + "_" + id.ID
}

// UIDMapping is how an identifier becomes the last part of a username (docs/GATEWAY.md §3).
type UIDMapping string

const (
	// UIDFull keeps the identifier as it stands in the certificate (a UID's dashes too): the
	// seed's rule read literally. The default.
	UIDFull UIDMapping = "full"
	// UIDAS4Client keeps the identifier up to its first character that is not a letter, digit
	// or underscore, as SKAT's AS4 client for the same platform reads OCES II serial numbers
	// (its pattern is \w+), so UID:OCSP01-SYSTEMTEST-XXXIV gives CVR_19552101_UID_OCSP01; an
	// OCES3 UUID is kept whole, as that client does. ASSUMED for FTPS.
	UIDAS4Client UIDMapping = "as4-client"
)

// UsernameWith is Username under a UID mapping ("" for an identity that cannot log in).
func (id Identity) UsernameWith(m UIDMapping) string {
	u := id.Username()
	if u == "" || m != UIDAS4Client || id.Kind == KindUI {
		return u // OCES3: SKAT's AS4 client takes the whole UUID
	}
	end := strings.IndexFunc(id.ID, func(r rune) bool {
		return !(r == '_' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	})
	if end < 0 {
		return u
	}
	return "CVR_" + id.CVR + "_" + string(id.Kind) + "_" + id.ID[:end]
}

// CanLogin reports whether the identity has a gateway username.
func (id Identity) CanLogin() bool { return id.Validate() == nil }

// String describes the identity for people: the subject form for OCES II, e.g. CVR:19552101-RID:60134540.
func (id Identity) String() string {
	if id.Kind == KindPID {
		return "PID:" + id.ID
	}
	return "CVR:" + id.CVR + "-" + string(id.Kind) + ":" + id.ID
}

// Validate reports why the identity cannot log in to the gateway, or nil.
func (id Identity) Validate() error {
	input := id.String()
	switch id.Kind {
	case KindPID:
		return newErr(ErrPersonalCertificate, input, "a personal certificate (PID) has no CVR number, so it has no gateway username; use a company (VOCES), employee (MOCES) or function (FOCES) certificate")
	case KindUID, KindRID, KindFID, KindUI:
	case "":
		return newErr(ErrEmpty, input, "the identity has no kind (RID, UID, FID or UI)")
	default:
		return newErr(ErrUnknownKind, input, fmt.Sprintf("unknown identifier kind %q; the gateway knows RID (MOCES), UID (VOCES), FID (FOCES) and UI (OCES3)", printable(string(id.Kind))))
	}
	if !cvrPattern.MatchString(id.CVR) {
		return newErr(ErrMalformedCVR, input, fmt.Sprintf("CVR number %q is not 8 digits", printable(id.CVR)))
	}
	return validateID(id.Kind, id.ID, input)
}

var (
	cvrPattern  = regexp.MustCompile(`^[0-9]{8}$`)
	oces2ID     = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)
	uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	pidPattern  = regexp.MustCompile(`^[0-9]{4}-[0-9]{4}-[0-9]-[0-9]+$`)
)

func validateID(kind Kind, value, input string) error {
	if value == "" {
		return newErr(ErrMalformedID, input, fmt.Sprintf("the %s value is empty", kind))
	}
	if kind == KindUI {
		if !uuidPattern.MatchString(value) {
			return newErr(ErrMalformedID, input, fmt.Sprintf("the UI value %q is not a UUID (OCES3 serialNumber UI:DK-O:G:<uuid>)", printable(value)))
		}
		return nil
	}
	if len(value) > MaxIDLength {
		return newErr(ErrIDTooLong, input, fmt.Sprintf("the %s value is %d characters long; at most %d are allowed", kind, len(value), MaxIDLength))
	}
	if !oces2ID.MatchString(value) {
		return newErr(ErrMalformedID, input, fmt.Sprintf("the %s value %q may hold only letters, digits and single dashes", kind, printable(value)))
	}
	return nil
}

// ParseUsername parses a gateway username such as CVR_19552101_RID_60134540.
// ParseUsername(id.Username()) == id for every identity that can log in.
func ParseUsername(username string) (Identity, error) {
	if username == "" {
		return Identity{}, newErr(ErrEmpty, username, "the username is empty; it must look like CVR_19552101_RID_60134540")
	}
	if len(username) > 256 || !utf8.ValidString(username) {
		return Identity{}, newErr(ErrMalformed, username, "the username is not of the form CVR_<8 digits>_<RID|UID|FID|UI>_<id>")
	}
	rest, ok := strings.CutPrefix(username, "CVR_")
	if !ok {
		return Identity{}, newErr(ErrMalformed, username, "the username must start with CVR_ followed by the 8-digit CVR number, e.g. CVR_19552101_RID_60134540")
	}
	cvr, rest, ok := strings.Cut(rest, "_")
	if !ok {
		return Identity{}, newErr(ErrMalformed, username, "the username has no _<KIND>_<id> part after the CVR number")
	}
	kind, value, ok := strings.Cut(rest, "_")
	if !ok {
		return Identity{}, newErr(ErrMalformed, username, "the username has no identifier after the kind; expected CVR_<cvr>_<KIND>_<id>")
	}
	id := Identity{CVR: cvr, Kind: Kind(kind), ID: value}
	if id.Kind == KindPID {
		return Identity{}, newErr(ErrPersonalCertificate, username, "PID is a personal certificate and has no gateway username")
	}
	if err := validateAs(id, username); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// OID of the organizationIdentifier attribute (X.520), used by OCES3 for NTRDK-<cvr>.
var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// FromCertificate reads the identity from an OCES certificate's subject. For a personal
// certificate it returns the PID identity together with an ErrPersonalCertificate error, so
// callers can still show who the certificate belongs to.
func FromCertificate(cert *x509.Certificate) (Identity, error) {
	if cert == nil {
		return Identity{}, newErr(ErrEmpty, "", "no certificate")
	}
	var orgID string
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidOrganizationIdentifier) {
			if s, ok := atv.Value.(string); ok {
				orgID = s
			}
		}
	}
	return ParseSubject(cert.Subject.SerialNumber, orgID)
}

// ParseSubject reads an identity from the two subject attributes OCES uses:
// serialNumber (OID 2.5.4.5) and, for OCES3, organizationIdentifier (OID 2.5.4.97).
//
//	OCES II: serialNumber "CVR:19552101-RID:60134540" (also UID:, FID:), or "PID:9208-2002-2-…"
//	OCES3:   serialNumber "UI:DK-O:G:<uuid>" or "UI:DK-E:G:<uuid>", organizationIdentifier "NTRDK-<cvr>"
func ParseSubject(serialNumber, organizationIdentifier string) (Identity, error) {
	sn := serialNumber
	if sn == "" {
		return Identity{}, newErr(ErrNoSerialNumber, "", "the certificate subject has no serialNumber attribute, so it is not an OCES certificate")
	}
	if !utf8.ValidString(sn) || len(sn) > 256 {
		return Identity{}, newErr(ErrMalformed, sn, "the subject serialNumber is not an OCES value")
	}
	switch {
	case strings.HasPrefix(sn, "PID:"):
		id := Identity{Kind: KindPID, ID: strings.TrimPrefix(sn, "PID:")}
		if !pidPattern.MatchString(id.ID) {
			return Identity{}, newErr(ErrMalformed, sn, "the PID value is not of the form 9208-2002-2-<digits>")
		}
		return id, id.Validate()
	case strings.HasPrefix(sn, "UI:"):
		return parseOCES3(sn, organizationIdentifier)
	case strings.HasPrefix(sn, "CVR:"):
		rest := strings.TrimPrefix(sn, "CVR:")
		cvr, rest, ok := strings.Cut(rest, "-")
		if !ok {
			return Identity{}, newErr(ErrMalformed, sn, "the serialNumber has no -<KIND>:<id> part after the CVR number, e.g. CVR:19552101-RID:60134540")
		}
		kind, value, ok := strings.Cut(rest, ":")
		if !ok {
			return Identity{}, newErr(ErrMalformed, sn, "the serialNumber has no <KIND>:<id> part, e.g. RID:60134540")
		}
		id := Identity{CVR: cvr, Kind: Kind(kind), ID: value}
		if id.Kind == KindPID || id.Kind == KindUI {
			return Identity{}, newErr(ErrUnknownKind, sn, fmt.Sprintf("%s cannot follow a CVR number in an OCES II serialNumber", id.Kind))
		}
		if err := validateAs(id, sn); err != nil {
			return Identity{}, err
		}
		return id, nil
	default:
		return Identity{}, newErr(ErrUnknownKind, sn, "the serialNumber is neither OCES II (CVR:…-RID/UID/FID:…, PID:…) nor OCES3 (UI:DK-O:G:…)")
	}
}

// parseOCES3 handles serialNumber "UI:DK-O:G:<uuid>" (organisation) or "UI:DK-E:G:<uuid>"
// (employee); the CVR comes from organizationIdentifier "NTRDK-<cvr>". The resulting username
// form CVR_<cvr>_UI_<uuid> is assumed (docs/GATEWAY.md §3).
func parseOCES3(sn, orgID string) (Identity, error) {
	rest := strings.TrimPrefix(sn, "UI:")
	var uuid string
	switch {
	case strings.HasPrefix(rest, "DK-O:G:"):
		uuid = strings.TrimPrefix(rest, "DK-O:G:")
	case strings.HasPrefix(rest, "DK-E:G:"):
		uuid = strings.TrimPrefix(rest, "DK-E:G:")
	default:
		return Identity{}, newErr(ErrMalformed, sn, "the OCES3 serialNumber must be UI:DK-O:G:<uuid> or UI:DK-E:G:<uuid>")
	}
	if orgID == "" {
		return Identity{}, newErr(ErrMalformedCVR, sn, "the OCES3 certificate has no organizationIdentifier (NTRDK-<cvr>), so it names no CVR number")
	}
	cvr, ok := strings.CutPrefix(orgID, "NTRDK-")
	if !ok {
		return Identity{}, newErr(ErrMalformedCVR, orgID, "the organizationIdentifier must be NTRDK-<8-digit CVR>")
	}
	id := Identity{CVR: cvr, Kind: KindUI, ID: uuid}
	if err := validateAs(id, sn); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// validateAs validates an identity and names the parsed input in its error.
func validateAs(id Identity, input string) error {
	err := id.Validate()
	var ie *IdentityError
	if errors.As(err, &ie) {
		ie.Input = input
	}
	return err
}

// printable quotes untrusted input safely for error messages and cuts it short.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
