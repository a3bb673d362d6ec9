package simulator

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestRulesAreReadByTheirPart keeps each area of Rules in the part that enforces it
// (docs/ARCHITECTURE.md): a rule read anywhere else is a rule enforced in the wrong room.
func TestRulesAreReadByTheirPart(t *testing.T) {
	rooms := map[string][]string{
		"TLS":      {"tlsconf.go"},
		"Data":     {"tlsconf.go", "front.go", "folders.go", "upload.go"},
		"Login":    {"login.go"},
		"Folders":  {"security.go"},
		"Out":      {"folders.go"},
		"Names":    {"upload.go"},
		"Receipts": {"pipeline.go"},
		"Outage":   {"pipeline.go"},
		"Network":  {"front.go"},
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, p := range pkgs {
		for name, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				// x.rules.<Area>
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				inner, ok := sel.X.(*ast.SelectorExpr)
				if !ok || inner.Sel.Name != "rules" {
					return true
				}
				allowed, area := rooms[sel.Sel.Name]
				if !area {
					return true // another rules value (the backend service's rule table)
				}
				reads++
				if !slices.Contains(allowed, name) {
					t.Errorf("%s reads rules.%s (%s): that area belongs to %v", name, sel.Sel.Name, fset.Position(sel.Pos()), allowed)
				}
				return true
			})
		}
	}
	if reads < 15 {
		t.Fatalf("found %d rule reads: the check is not looking at the code", reads)
	}
}
