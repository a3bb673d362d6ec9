package simulator

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
)

// fixedFile builds a fixed-record file of records of width characters: start, data, end with
// a count (each record a line).
func fixedFile(width int, data int, count int) string {
	pad := func(s string) string { return s + strings.Repeat(" ", width-len(s)) }
	lines := []string{pad("0001START")}
	for i := range data {
		lines = append(lines, pad(fmt.Sprintf("2260DATA%04d", i)))
	}
	lines = append(lines, pad(fmt.Sprintf("9998%09d", count)))
	return strings.Join(lines, "\r\n") + "\r\n"
}

func TestCheckRecords(t *testing.T) {
	rule := ServiceRule{Preset: "akfa"}.effective()
	if rule.RecordLength != 230 || !rule.FixedRecord || !rule.RequireASCII {
		t.Fatalf("akfa preset: %+v", rule)
	}
	good := fixedFile(230, 3, 5)
	for _, tc := range []struct {
		name, file, code, danish string
	}{
		{"whole", good, "", ""},
		{"blank fillers are not counted", strings.Replace(good, "\r\n", "\r\n"+strings.Repeat(" ", 230)+"\r\n", 1), "", ""},
		{"no start record", strings.Replace(good, "0001START", "2260START", 1), receipt.ErrCodeFirstRecord, "Startindividet i første record i filen overholder ikke individstrukturen"},
		{"empty", "", receipt.ErrCodeFirstRecord, "Startindividet"},
		{"a short record", strings.Replace(good, "2260DATA0001"+strings.Repeat(" ", 218), "2260DATA0001", 1), ErrCodeRecordLength, "Længden for de enkelte records i filen er ikke korrekt: record 3 har 12 tegn; formatet kræver 230"},
		{"no end record", strings.Replace(good, "9998000000005", "2260000000005", 1), receipt.ErrCodeLastRecord, "Slutindividet i sidste record i filen, overholder ikke individstrukturen"},
		{"a wrong count", fixedFile(230, 3, 4), receipt.ErrCodeLastRecord, "slutindividet angiver \"000000004\" individer (position 5-13); filen har 5"},
	} {
		e := checkRecords(rule, strings.NewReader(tc.file))
		switch {
		case tc.code == "" && e != nil:
			t.Errorf("%s: %+v", tc.name, e)
		case tc.code != "" && (e == nil || e.Code != tc.code):
			t.Errorf("%s: %+v, want %s", tc.name, e, tc.code)
		case tc.code != "":
			if da := receipt.Localize(*e, receipt.LanguageDanish); !strings.Contains(da.Message, tc.danish) {
				t.Errorf("%s: Danish message %q, want %q", tc.name, da.Message, tc.danish)
			}
			if en := receipt.Localize(*e, receipt.LanguageEnglish); en.Message != e.Message || strings.Contains(en.Message, "individ") {
				t.Errorf("%s: English message %q", tc.name, en.Message)
			}
		}
	}
}
