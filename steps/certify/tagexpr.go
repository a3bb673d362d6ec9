package certify

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// TagExpr is a parsed --tags selection. Two spellings are accepted, and may be mixed:
// Cucumber's tag expressions (`@GW-TLS-01 and not @needs-control`, `or`, parentheses) and
// the older one godog itself reads (`@a,@b` for or, `@a && @b` for and, `~@a` for not).
// godog v0.16 understands only the older one and fails silently (or panics) on anything
// else, so the harness parses the selection itself, refuses what does not parse, and hands
// godog an equivalent in its own spelling (Godog).
type TagExpr struct {
	root tagNode
	src  string
}

type tagNode struct {
	op   string // "tag", "and", "or", "not", "all"
	tag  string // for op "tag": with its @
	kids []tagNode
}

// ParseTagExpr parses a selection; "" selects everything.
func ParseTagExpr(s string) (*TagExpr, error) {
	toks, err := tagTokens(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return &TagExpr{root: tagNode{op: "all"}, src: s}, nil
	}
	p := &tagParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("tag expression %q: %w", s, err)
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("tag expression %q: unexpected %q", s, p.toks[p.pos])
	}
	return &TagExpr{root: n, src: s}, nil
}

// String is the expression as given.
func (e *TagExpr) String() string { return e.src }

// Tags lists the tags the expression names.
func (e *TagExpr) Tags() []string {
	var out []string
	var walk func(n tagNode)
	walk = func(n tagNode) {
		if n.op == "tag" && !slices.Contains(out, n.tag) {
			out = append(out, n.tag)
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(e.root)
	return out
}

// Match reports whether a scenario with these tags is selected.
func (e *TagExpr) Match(tags []string) bool { return e.root.match(tags) }

func (n tagNode) match(tags []string) bool {
	switch n.op {
	case "all":
		return true
	case "tag":
		return slices.Contains(tags, n.tag)
	case "not":
		return !n.kids[0].match(tags)
	case "and":
		for _, k := range n.kids {
			if !k.match(tags) {
				return false
			}
		}
		return true
	default: // or
		for _, k := range n.kids {
			if k.match(tags) {
				return true
			}
		}
		return false
	}
}

// Godog is the expression in godog v0.16's own spelling: an or (",") of ands ("&&") of tags
// or negated tags ("~@t"), which it evaluates exactly as Match. "" selects everything.
func (e *TagExpr) Godog() string {
	if e.root.op == "all" {
		return ""
	}
	var terms []string
	for _, conj := range dnf(e.root) {
		terms = append(terms, strings.Join(conj, "&&"))
	}
	return strings.Join(terms, ",")
}

// dnf returns n as an or of ands of literals ("@t" or "~@t"), dropping contradictions.
func dnf(n tagNode) [][]string {
	switch n.op {
	case "tag":
		return [][]string{{n.tag}}
	case "or":
		var out [][]string
		for _, k := range n.kids {
			out = append(out, dnf(k)...)
		}
		return out
	case "and":
		out := [][]string{{}}
		for _, k := range n.kids {
			var next [][]string
			for _, a := range out {
				for _, b := range dnf(k) {
					if c, ok := joinConj(a, b); ok {
						next = append(next, c)
					}
				}
			}
			out = next
		}
		return out
	default: // not: push inwards
		k := n.kids[0]
		switch k.op {
		case "tag":
			return [][]string{{"~" + k.tag}}
		case "not":
			return dnf(k.kids[0])
		case "and":
			var kids []tagNode
			for _, c := range k.kids {
				kids = append(kids, tagNode{op: "not", kids: []tagNode{c}})
			}
			return dnf(tagNode{op: "or", kids: kids})
		default: // or
			var kids []tagNode
			for _, c := range k.kids {
				kids = append(kids, tagNode{op: "not", kids: []tagNode{c}})
			}
			return dnf(tagNode{op: "and", kids: kids})
		}
	}
}

// joinConj ands two conjunctions; false when one holds a tag and the other its negation.
func joinConj(a, b []string) ([]string, bool) {
	out := slices.Clone(a)
	for _, l := range b {
		neg := strings.TrimPrefix(l, "~")
		if neg == l {
			neg = "~" + l
		}
		if slices.Contains(out, neg) {
			return nil, false
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, true
}

func tagTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == ',' || c == '~':
			toks = append(toks, string(c))
			i++
		case strings.HasPrefix(s[i:], "&&"):
			toks = append(toks, "&&")
			i += 2
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("(),~", rune(s[j])) && !strings.HasPrefix(s[j:], "&&") {
				j++
			}
			w := s[i:j]
			switch {
			case w == "and" || w == "or" || w == "not":
			case strings.HasPrefix(w, "@") && len(w) > 1:
			default:
				return nil, fmt.Errorf("tag expression %q: %q is neither a tag (@name) nor and, or, not", s, w)
			}
			toks = append(toks, w)
			i = j
		}
	}
	return toks, nil
}

type tagParser struct {
	toks []string
	pos  int
}

func (p *tagParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *tagParser) or() (tagNode, error) {
	n, err := p.and()
	if err != nil {
		return n, err
	}
	for p.peek() == "or" || p.peek() == "," {
		p.pos++
		m, err := p.and()
		if err != nil {
			return n, err
		}
		n = tagNode{op: "or", kids: []tagNode{n, m}}
	}
	return n, nil
}

func (p *tagParser) and() (tagNode, error) {
	n, err := p.not()
	if err != nil {
		return n, err
	}
	for p.peek() == "and" || p.peek() == "&&" {
		p.pos++
		m, err := p.not()
		if err != nil {
			return n, err
		}
		n = tagNode{op: "and", kids: []tagNode{n, m}}
	}
	return n, nil
}

func (p *tagParser) not() (tagNode, error) {
	if t := p.peek(); t == "not" || t == "~" {
		p.pos++
		k, err := p.not()
		if err != nil {
			return k, err
		}
		return tagNode{op: "not", kids: []tagNode{k}}, nil
	}
	return p.atom()
}

func (p *tagParser) atom() (tagNode, error) {
	t := p.peek()
	switch {
	case t == "":
		return tagNode{}, fmt.Errorf("it ends where a tag or ( is expected")
	case t == "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return n, err
		}
		if p.peek() != ")" {
			return n, fmt.Errorf("a ( is not closed")
		}
		p.pos++
		return n, nil
	case strings.HasPrefix(t, "@"):
		p.pos++
		return tagNode{op: "tag", tag: t}, nil
	}
	return tagNode{}, fmt.Errorf("%q where a tag or ( is expected", t)
}
