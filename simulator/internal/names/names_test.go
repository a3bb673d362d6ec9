package names

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ok         bool
		validation bool
		unique     string
	}{
		{"report_2026_01.txt", true, false, "report_2026_01"},
		{"val_report_1.xml", true, true, "report_1"},
		{"NOEXTENSION", true, false, "NOEXTENSION"},
		{strings.Repeat("a", 78) + ".txt", true, false, strings.Repeat("a", 78)},
		{"val_" + strings.Repeat("a", 78) + ".txt", true, true, strings.Repeat("a", 78)},
		{strings.Repeat("a", 79) + ".txt", false, false, ""},
		{"bad name.txt", false, false, ""},
		{"bad-name.txt", false, false, ""},
		{"two.ext.txt", false, false, ""},
		{"æøå.txt", false, false, ""},
		{".txt", false, false, ""},
		{"val_.txt", false, false, ""},
		{"", false, false, ""},
		{"a\x00b", false, false, ""},
		{"x.", false, false, ""},
	} {
		fn, err := Parse(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("%q: error %v does not wrap ErrBadName", tc.name, err)
		}
		if tc.ok && (fn.Validation != tc.validation || fn.Unique != tc.unique) {
			t.Errorf("%q: %+v", tc.name, fn)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"report_1.txt", "val_x.xml", "a.b.c", "\x00", "æ", strings.Repeat("z", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		fn, err := Parse(name)
		if err != nil {
			if !errors.Is(err, ErrBadName) || err.Error() == "" {
				t.Fatalf("%q: %v", name, err)
			}
			return
		}
		// An accepted name is safe as a path element and a receipt name part.
		if strings.ContainsAny(name, "/\\\x00 %") || len(fn.Unique) > MaxUniquePart || fn.Unique == "" {
			t.Fatalf("accepted an unsafe name %q: %+v", name, fn)
		}
	})
}
