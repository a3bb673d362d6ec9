package steps

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
	"gopkg.in/yaml.v3"
)

// Requirement is one entry of features/requirements.yaml.
type Requirement struct {
	ID      string `yaml:"id"`
	Title   string `yaml:"title"`
	Level   string `yaml:"level"` // MUST | SHOULD
	Basis   string `yaml:"basis"` // documented | assumed
	Source  string `yaml:"source"`
	Danish  string `yaml:"danish"`
	English string `yaml:"english"`
}

// LoadCatalogue reads and checks requirements.yaml from a features file system.
func LoadCatalogue(fsys fs.FS) ([]Requirement, error) {
	raw, err := fs.ReadFile(fsys, "requirements.yaml")
	if err != nil {
		return nil, err
	}
	var reqs []Requirement
	if err := yaml.Unmarshal(raw, &reqs); err != nil {
		return nil, fmt.Errorf("requirements.yaml: %w", err)
	}
	seen := map[string]bool{}
	idRe := regexp.MustCompile(`^(GW|CL)-[A-Z]+-\d{2}$`)
	for _, r := range reqs {
		switch {
		case !idRe.MatchString(r.ID):
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

// ScenarioInfo is a scenario's name and tags as written in a feature file.
type ScenarioInfo struct {
	File string
	Name string
	Tags []string
}

// ParseScenarios lists the scenarios (outline examples included once) of the *.feature files at the root of fsys.
func ParseScenarios(fsys fs.FS) ([]ScenarioInfo, error) {
	files, err := fs.Glob(fsys, "*.feature")
	if err != nil {
		return nil, err
	}
	var out []ScenarioInfo
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		doc, err := gherkin.ParseGherkinDocument(strings.NewReader(string(raw)), (&messages.Incrementing{}).NewId)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if doc.Feature == nil {
			continue
		}
		for _, child := range doc.Feature.Children {
			if child.Scenario == nil {
				continue
			}
			info := ScenarioInfo{File: f, Name: child.Scenario.Name}
			for _, t := range child.Scenario.Tags {
				info.Tags = append(info.Tags, t.Name)
			}
			out = append(out, info)
		}
	}
	return out, nil
}

// CheckCoverage returns an error when a requirement has no scenario, a scenario names an
// unknown requirement or none, or a scenario's @must/@should/@assumed tags disagree with the catalogue.
func CheckCoverage(reqs []Requirement, scenarios []ScenarioInfo) error {
	byID := map[string]Requirement{}
	covered := map[string]bool{}
	for _, r := range reqs {
		byID[r.ID] = r
	}
	var problems []string
	for _, s := range scenarios {
		var ids []string
		for _, t := range s.Tags {
			if id, ok := requirementTag(t); ok {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %q names no requirement", s.File, s.Name))
		}
		for _, id := range ids {
			r, ok := byID[id]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %q names unknown requirement %s", s.File, s.Name, id))
				continue
			}
			covered[id] = true
			if !slices.Contains(s.Tags, "@"+strings.ToLower(r.Level)) {
				problems = append(problems, fmt.Sprintf("%s: %q is tagged without @%s (%s is %s)", s.File, s.Name, strings.ToLower(r.Level), id, r.Level))
			}
			if (r.Basis == "assumed") != slices.Contains(s.Tags, "@assumed") {
				problems = append(problems, fmt.Sprintf("%s: %q: @assumed must be present exactly when %s is assumed", s.File, s.Name, id))
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

var reqTagRe = regexp.MustCompile(`^@((?:GW|CL)-[A-Z]+-\d{2})$`)

func requirementTag(tag string) (string, bool) {
	m := reqTagRe.FindStringSubmatch(tag)
	if m == nil {
		return "", false
	}
	return m[1], true
}
