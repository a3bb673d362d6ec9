package certify

import (
	"strings"
	"testing"
)

// godog's closing counts call UNSUPPORTED scenarios passed: they are dropped, the progress
// marks, failures and anything else pass through, however the writes are split.
func TestProgressFilterDropsGodogCounts(t *testing.T) {
	in := "-----.--- 9\n\n--- Failed steps:\n\n  Scenario: x # a.feature:3\n    Error: 3 scenarios are not 3 passed\n\n\n3 scenarios (3 passed)\n9 steps (1 passed, 8 skipped)\n54.360909ms\n1m2.5s\nNo scenarios\n"
	want := "-----.--- 9\n\n--- Failed steps:\n\n  Scenario: x # a.feature:3\n    Error: 3 scenarios are not 3 passed\n\n\n"
	for _, chunk := range []int{1, 3, 7, len(in)} {
		var out strings.Builder
		f := &progressFilter{out: &out}
		for i := 0; i < len(in); i += chunk {
			f.Write([]byte(in[i:min(i+chunk, len(in))]))
		}
		f.flush()
		if out.String() != want {
			t.Errorf("chunks of %d: got %q", chunk, out.String())
		}
	}
	var out strings.Builder
	f := &progressFilter{out: &out}
	f.Write([]byte("..."))
	if out.String() != "..." {
		t.Errorf("progress marks held back: %q", out.String())
	}
}
