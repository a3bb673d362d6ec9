package steps

import (
	"regexp"
	"strconv"
	"strings"
)

var lettersRe = regexp.MustCompile(`\{(\d+) letters\}`)

// expandName turns "{79 letters}.txt" into 79 random letters plus ".txt".
func expandName(name string) string {
	return lettersRe.ReplaceAllStringFunc(name, func(m string) string {
		n, _ := strconv.Atoi(lettersRe.FindStringSubmatch(m)[1])
		return randomLetters(n)
	})
}

func parseCodes(list string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}
