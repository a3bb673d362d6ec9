// Package names holds the rules for submitted file names.
package names

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ValidationPrefix marks a validation-only upload: checked, never filed (docs/GATEWAY.md §5).
const ValidationPrefix = "val_"

// MaxUniquePart is the documented maximum length of a name's unique part.
const MaxUniquePart = 78

// Rule is a service's name rule (docs/GATEWAY.md §5). SKAT publishes the rule for val_ names
// (letters, digits, underscore, at most 78 characters), the CRS form and a heartbeat example
// with a dash; the rule for filings elsewhere is not public, so General is ASSUMED.
type Rule string

const (
	// General: the val_ character rule applied to every name (ASSUMED).
	General Rule = "general"
	// Heartbeat: as General, dashes allowed, as in SKAT's example ping20201210143002441-hb01.xml.
	Heartbeat Rule = "heartbeat"
	// CRS: [CVR]_[unique id of at most 25 characters], no spaces (info.skat.dk oid=2383399).
	CRS Rule = "crs"
	// Any: only what keeps a name safe (no control characters, one extension).
	Any Rule = "any"
)

// Rules lists the rules a service may have.
var Rules = []Rule{General, Heartbeat, CRS, Any}

var (
	uniquePartRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	heartbeatRe  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	crsRe        = regexp.MustCompile(`^[0-9]{8}_([A-Za-z0-9_-]{1,25})$`)
	extensionRe  = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)
)

// ErrBadName wraps every name-rule violation.
var ErrBadName = errors.New("file name not allowed")

// FileName is an upload name split into its parts.
type FileName struct {
	Name       string // as uploaded
	Validation bool   // val_ prefix
	Unique     string // the unique part: without val_ and extension
	Extension  string // without the dot; may be empty
}

// Parse checks a name by the General rule.
func Parse(name string) (FileName, error) { return ParseFor(name, General) }

// ParseFor checks a name by a service's rule. A val_ name follows the published val_ rule in
// every service: letters, digits and underscore, at most 78 characters.
func ParseFor(name string, rule Rule) (FileName, error) {
	fn := FileName{Name: name}
	bad := func(why string) (FileName, error) { return fn, fmt.Errorf("%w: %s", ErrBadName, why) }
	switch {
	case name == "":
		return bad("the name is empty")
	case !utf8.ValidString(name):
		return bad("the name is not valid UTF-8")
	case len(name) > 256:
		return bad(fmt.Sprintf("the name is %d bytes long", len(name)))
	case strings.ContainsAny(name, "/\\ %"):
		return bad("the name holds a space, a slash, a backslash or a percent sign")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad("the name holds control characters")
		}
	}
	base := name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		base, fn.Extension = name[:i], name[i+1:]
		if !extensionRe.MatchString(fn.Extension) {
			return bad("the extension may hold 1 to 16 letters and digits, and there may be only one")
		}
	}
	fn.Unique, fn.Validation = strings.CutPrefix(base, ValidationPrefix)
	if fn.Unique == "" {
		return bad("the name has no unique part")
	}
	if fn.Validation || rule == General {
		switch {
		case !uniquePartRe.MatchString(fn.Unique):
			return bad("the unique part may hold only letters (A-Z, a-z), digits and underscore")
		case len(fn.Unique) > MaxUniquePart:
			return bad(fmt.Sprintf("the unique part is %d characters long; at most %d are allowed", len(fn.Unique), MaxUniquePart))
		}
		return fn, nil
	}
	switch rule {
	case Heartbeat:
		if !heartbeatRe.MatchString(fn.Unique) || len(fn.Unique) > MaxUniquePart {
			return bad(fmt.Sprintf("a heartbeat name holds letters, digits, underscore and dash, at most %d characters (as SKAT's ping20201210143002441-hb01.xml)", MaxUniquePart))
		}
	case CRS:
		if !crsRe.MatchString(fn.Unique) {
			return bad("a CRS name is [CVR]_[unique id of at most 25 characters]: 8 digits, an underscore, then 1 to 25 letters, digits, underscores or dashes")
		}
	case Any:
	default:
		return bad(fmt.Sprintf("unknown name rule %q", rule))
	}
	return fn, nil
}
