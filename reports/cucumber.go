package reports

import (
	"encoding/json"
	"io"
	"strings"
)

// WriteCucumber writes the run in cucumber's JSON report form, for runs that godog did not
// drive (certify-client --observe): one feature per scenario file, one element per scenario,
// its steps with their results.
func WriteCucumber(w io.Writer, r *Run) error {
	type result struct {
		Status   string `json:"status"`
		Error    string `json:"error_message,omitempty"`
		Duration int64  `json:"duration"`
	}
	type step struct {
		Keyword string `json:"keyword"`
		Name    string `json:"name"`
		Line    int    `json:"line"`
		Result  result `json:"result"`
	}
	type tag struct {
		Name string `json:"name"`
		Line int    `json:"line"`
	}
	type element struct {
		ID      string `json:"id"`
		Keyword string `json:"keyword"`
		Name    string `json:"name"`
		Line    int    `json:"line"`
		Type    string `json:"type"`
		Tags    []tag  `json:"tags"`
		Steps   []step `json:"steps"`
	}
	type feature struct {
		URI      string    `json:"uri"`
		ID       string    `json:"id"`
		Keyword  string    `json:"keyword"`
		Name     string    `json:"name"`
		Line     int       `json:"line"`
		Elements []element `json:"elements"`
	}
	var out []*feature
	byFile := map[string]*feature{}
	for i, s := range r.Scenarios {
		f := byFile[s.File]
		if f == nil {
			f = &feature{URI: s.File, ID: slug(s.Feature), Keyword: "Feature", Name: s.Feature, Line: 1, Elements: []element{}}
			byFile[s.File] = f
			out = append(out, f)
		}
		e := element{ID: f.ID + ";" + slug(s.Name), Keyword: "Scenario", Name: s.Name, Line: i + 2, Type: "scenario", Tags: []tag{}, Steps: []step{}}
		for _, t := range s.Tags {
			e.Tags = append(e.Tags, tag{t, i + 2})
		}
		for _, st := range s.Steps {
			e.Steps = append(e.Steps, step{Keyword: "Then ", Name: st.Text, Line: i + 2,
				Result: result{Status: st.Status, Error: st.Error, Duration: s.Duration.Nanoseconds()}})
		}
		f.Elements = append(f.Elements, e)
	}
	if out == nil {
		out = []*feature{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func slug(s string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, s), "-")
}
