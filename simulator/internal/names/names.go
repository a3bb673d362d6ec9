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

var (
	uniquePartRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
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

// Parse checks the documented name rules: the unique part holds letters, digits and
// underscore, at most 78 characters; one optional extension; an optional val_ prefix.
func Parse(name string) (FileName, error) {
	fn := FileName{Name: name}
	bad := func(why string) (FileName, error) { return fn, fmt.Errorf("%w: %s", ErrBadName, why) }
	switch {
	case name == "":
		return bad("the name is empty")
	case !utf8.ValidString(name):
		return bad("the name is not valid UTF-8")
	case len(name) > 256:
		return bad(fmt.Sprintf("the name is %d bytes long", len(name)))
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
	switch {
	case fn.Unique == "":
		return bad("the name has no unique part")
	case !uniquePartRe.MatchString(fn.Unique):
		return bad("the unique part may hold only letters (A-Z, a-z), digits and underscore")
	case len(fn.Unique) > MaxUniquePart:
		return bad(fmt.Sprintf("the unique part is %d characters long; at most %d are allowed", len(fn.Unique), MaxUniquePart))
	}
	return fn, nil
}
