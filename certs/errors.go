package certs

import "errors"

// Reasons a certificate or username cannot be used to log in. Test them with errors.Is; the
// error itself is an *IdentityError whose message says what is wrong in words a user knows.
var (
	ErrEmpty               = errors.New("empty")
	ErrMalformed           = errors.New("malformed")
	ErrPersonalCertificate = errors.New("personal certificate has no CVR")
	ErrMalformedCVR        = errors.New("malformed CVR number")
	ErrIDTooLong           = errors.New("identifier too long")
	ErrMalformedID         = errors.New("malformed identifier")
	ErrUnknownKind         = errors.New("unknown identifier kind")
	ErrNoSerialNumber      = errors.New("no subject serialNumber")
)

// IdentityError says why a certificate subject or a username is unusable.
type IdentityError struct {
	Reason error  // one of the Err… values above
	Input  string // what was parsed (username or serialNumber)
	Detail string // a sentence for the user
}

func (e *IdentityError) Error() string {
	if e.Input == "" {
		return e.Detail
	}
	return printable(e.Input) + ": " + e.Detail
}

// Unwrap makes errors.Is(err, ErrPersonalCertificate) and friends work.
func (e *IdentityError) Unwrap() error { return e.Reason }

func newErr(reason error, input, detail string) error {
	return &IdentityError{Reason: reason, Input: input, Detail: detail}
}
