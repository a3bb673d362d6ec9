// Package catalogue is the suite's one model: requirement ids, the requirements of
// requirements.yaml, and the scenarios of the feature files, parsed once (Load). The
// certification engine plans and judges with it, the reports print it, and the step
// definitions name requirements with its ID.
package catalogue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
	"gopkg.in/yaml.v3"
)

// ID is a requirement id: GW-<AREA>-<NN> for the gateway, CL-<AREA>-<NN> for clients.
type ID string

// Tag is the scenario tag that names the requirement ("@GW-TLS-01").
func (id ID) Tag() string { return "@" + string(id) }

var (
	idRe   = regexp.MustCompile(`^(GW|CL)-[A-Z]+-\d{2}$`)
	reqTag = regexp.MustCompile(`^@((?:GW|CL)-[A-Z]+-\d{2})$`)
)

// Valid reports whether id has the form of a requirement id.
func (id ID) Valid() bool { return idRe.MatchString(string(id)) }

// FromTag returns the requirement a tag names ("@GW-TLS-01"), if it names one.
func FromTag(tag string) (ID, bool) {
	m := reqTag.FindStringSubmatch(tag)
	if m == nil {
		return "", false
	}
	return ID(m[1]), true
}

// IDs lists the requirement ids among tags, each once, in order.
func IDs(tags []string) []ID {
	var out []ID
	for _, t := range tags {
		if id, ok := FromTag(t); ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Requirement is one entry of requirements.yaml.
type Requirement struct {
	ID      ID     `yaml:"id"`
	Title   string `yaml:"title"`
	Level   string `yaml:"level"` // MUST | SHOULD
	Basis   string `yaml:"basis"` // documented | assumed
	Source  string `yaml:"source"`
	Danish  string `yaml:"danish"`
	English string `yaml:"english"`
}

// Scenario is one scenario the suite holds, as godog runs it: each example row of an
// outline is one. Tags are the scenario's, its example's and its feature's.
type Scenario struct {
	File    string // the feature file ("tls.feature")
	Feature string // its name without .feature ("tls")
	Name    string
	Tags    []string
}

// Requirements lists the requirement ids among the scenario's tags.
func (s Scenario) Requirements() []ID { return IDs(s.Tags) }

// Has reports whether the scenario carries a tag.
func (s Scenario) Has(tag string) bool { return slices.Contains(s.Tags, tag) }

// Suite is a parsed suite: the catalogue, every scenario, and the digest of its files.
type Suite struct {
	Requirements []Requirement
	Scenarios    []Scenario
	// Hash is the SHA-256 over every file of the suite (names and contents, sorted).
	Hash string
	// CatalogueHash is the SHA-256 of requirements.yaml.
	CatalogueHash string
}

// Requirement returns a catalogue entry by id.
func (s *Suite) Requirement(id ID) (Requirement, bool) {
	i := slices.IndexFunc(s.Requirements, func(r Requirement) bool { return r.ID == id })
	if i < 0 {
		return Requirement{}, false
	}
	return s.Requirements[i], true
}

// Load reads requirements.yaml and the *.feature files at the root of fsys once, checks
// that they agree (Check), and digests the suite.
func Load(fsys fs.FS) (*Suite, error) {
	reqs, err := LoadRequirements(fsys)
	if err != nil {
		return nil, err
	}
	scenarios, err := ParseScenarios(fsys)
	if err != nil {
		return nil, err
	}
	if err := Check(reqs, scenarios); err != nil {
		return nil, err
	}
	hash, err := digest(fsys)
	if err != nil {
		return nil, err
	}
	raw, err := fs.ReadFile(fsys, "requirements.yaml")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &Suite{Requirements: reqs, Scenarios: scenarios, Hash: hash, CatalogueHash: hex.EncodeToString(sum[:])}, nil
}

// LoadRequirements reads and checks requirements.yaml from a features file system.
func LoadRequirements(fsys fs.FS) ([]Requirement, error) {
	raw, err := fs.ReadFile(fsys, "requirements.yaml")
	if err != nil {
		return nil, err
	}
	var reqs []Requirement
	if err := yaml.Unmarshal(raw, &reqs); err != nil {
		return nil, fmt.Errorf("requirements.yaml: %w", err)
	}
	seen := map[ID]bool{}
	for _, r := range reqs {
		switch {
		case !r.ID.Valid():
			return nil, fmt.Errorf("requirements.yaml: bad id %q", r.ID)
		case seen[r.ID]:
			return nil, fmt.Errorf("requirements.yaml: %s twice", r.ID)
		case r.Level != "MUST" && r.Level != "SHOULD":
			return nil, fmt.Errorf("requirements.yaml: %s: level %q", r.ID, r.Level)
		case r.Basis != "documented" && r.Basis != "assumed":
			return nil, fmt.Errorf("requirements.yaml: %s: basis %q", r.ID, r.Basis)
		case r.Title == "" || r.English == "" || r.Source == "":
			return nil, fmt.Errorf("requirements.yaml: %s needs title, english and source", r.ID)
		}
		seen[r.ID] = true
	}
	return reqs, nil
}

// ParseScenarios lists every scenario of the *.feature files at the root of fsys, in file
// order (sorted by name), each example row of an outline as one.
func ParseScenarios(fsys fs.FS) ([]Scenario, error) {
	files, err := fs.Glob(fsys, "*.feature")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Scenario
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		ids := &messages.Incrementing{}
		doc, err := gherkin.ParseGherkinDocument(strings.NewReader(string(raw)), ids.NewId)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, p := range gherkin.Pickles(*doc, f, ids.NewId) {
			s := Scenario{File: f, Feature: FeatureName(f), Name: p.Name}
			for _, t := range p.Tags {
				s.Tags = append(s.Tags, t.Name)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// FeatureName is a feature file's name without its folder and .feature ("tls").
func FeatureName(uri string) string {
	uri = uri[strings.LastIndex(uri, "/")+1:]
	return strings.TrimSuffix(uri, ".feature")
}

// Check returns an error when a requirement has no scenario, a scenario names an unknown
// requirement or none, or a scenario's @must/@should/@assumed tags disagree with the catalogue.
func Check(reqs []Requirement, scenarios []Scenario) error {
	byID := map[ID]Requirement{}
	covered := map[ID]bool{}
	for _, r := range reqs {
		byID[r.ID] = r
	}
	var problems []string
	seen := map[string]bool{} // an outline's rows repeat its tags: one complaint per scenario
	complain := func(s Scenario, format string, a ...any) {
		msg := fmt.Sprintf("%s: %q", s.File, s.Name) + fmt.Sprintf(format, a...)
		if !seen[msg] {
			seen[msg] = true
			problems = append(problems, msg)
		}
	}
	for _, s := range scenarios {
		ids := s.Requirements()
		if len(ids) == 0 {
			complain(s, " names no requirement")
		}
		for _, id := range ids {
			r, ok := byID[id]
			if !ok {
				complain(s, " names unknown requirement %s", id)
				continue
			}
			covered[id] = true
			if !s.Has("@" + strings.ToLower(r.Level)) {
				complain(s, " is tagged without @%s (%s is %s)", strings.ToLower(r.Level), id, r.Level)
			}
			if (r.Basis == "assumed") != s.Has("@assumed") {
				complain(s, ": @assumed must be present exactly when %s is assumed", id)
			}
		}
	}
	for _, r := range reqs {
		if !covered[r.ID] {
			problems = append(problems, fmt.Sprintf("requirement %s has no scenario", r.ID))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("catalogue and features disagree:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// digest is the SHA-256 over every file of the suite (names and contents, sorted).
func digest(fsys fs.FS) (string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BlockedError is a step's failure in something another requirement judges: a login refused
// (GW-AUTH-01), a receipt that never came (GW-STAT-02). The scenario is then BLOCKED by that
// requirement, unless it passes on the target: then the failure is the scenario's own.
type BlockedError struct {
	By  ID
	Err error
}

func (e *BlockedError) Error() string { return e.Err.Error() }
func (e *BlockedError) Unwrap() error { return e.Err }
