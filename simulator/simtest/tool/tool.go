// Package tool lets tests ask for an outside program (curl, lftp, openssl, xmllint, a
// browser). Outside CI a missing program skips the test with one line naming the Debian
// package; with CI=true it fails the test, so a CI machine without it cannot pass silently
// (.ci/run installs every one).
package tool

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of the program name, from the Debian package pkg.
func Need(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (Debian package %s): with CI=true every tool the tests use must be installed (.ci/run installs it)", name, pkg)
	}
	t.Skipf("%s not installed (Debian package %s; .ci/run installs it): skipped", name, pkg)
	return ""
}
