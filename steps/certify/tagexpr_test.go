package certify

import (
	"strings"
	"testing"
)

// godogMatch is godog v0.16's own tag filter (internal/tags), copied to check Godog().
func godogMatch(filters string, tags []string) bool {
	if filters == "" {
		return true
	}
	ok := false
	for _, filter := range strings.Split(filters, ",") {
		and := len(filter) > 0
		for _, tag := range strings.Split(filter, "&&") {
			tag = strings.ReplaceAll(strings.TrimSpace(tag), "@", "")
			if tag[0] == '~' {
				and = !containsTag(tags, tag[1:]) && and
			} else {
				and = containsTag(tags, tag) && and
			}
		}
		ok = and || ok
	}
	return ok
}

func containsTag(tags []string, t string) bool {
	for _, x := range tags {
		if strings.TrimPrefix(x, "@") == t {
			return true
		}
	}
	return false
}

func TestTagExprRefusesWhatDoesNotParse(t *testing.T) {
	for _, s := range []string{"@GW-TLS-01 and (", "not", "@GW-TLS-01,,", "~", "@a and", "(@a", "@a)", "@a @b", "GW-TLS-01", "@a or or @b", "@"} {
		if _, err := ParseTagExpr(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestTagExprMatchesAndTranslatesExactly(t *testing.T) {
	universe := []string{"@a", "@b", "@c"}
	for _, tc := range []struct {
		expr string
		want func(a, b, c bool) bool
	}{
		{"", func(a, b, c bool) bool { return true }},
		{"@a", func(a, b, c bool) bool { return a }},
		{"@a,@b", func(a, b, c bool) bool { return a || b }},
		{"@a && ~@b", func(a, b, c bool) bool { return a && !b }},
		{"~@a", func(a, b, c bool) bool { return !a }},
		{"@a and not @b", func(a, b, c bool) bool { return a && !b }},
		{"not (@a or @b)", func(a, b, c bool) bool { return !(a || b) }},
		{"not (@a and (@b or not @c))", func(a, b, c bool) bool { return !(a && (b || !c)) }},
		{"(@a or @b) and (@b or @c)", func(a, b, c bool) bool { return (a || b) && (b || c) }},
		{"@a or @b and @c", func(a, b, c bool) bool { return a || (b && c) }},
		{"not not @c", func(a, b, c bool) bool { return c }},
	} {
		e, err := ParseTagExpr(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		g := e.Godog()
		for mask := range 8 {
			var tags []string
			for i, u := range universe {
				if mask&(1<<i) != 0 {
					tags = append(tags, u)
				}
			}
			want := tc.want(mask&1 != 0, mask&2 != 0, mask&4 != 0)
			if got := e.Match(tags); got != want {
				t.Errorf("%q on %v: Match %v, want %v", tc.expr, tags, got, want)
			}
			if got := godogMatch(g, tags); got != want {
				t.Errorf("%q as godog %q on %v: %v, want %v", tc.expr, g, tags, got, want)
			}
		}
	}
}
