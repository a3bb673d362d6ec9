package simulator

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPIDescribesEveryRoute keeps control/openapi.yaml and the handler in step: every
// route registered under /control/v1 is described, and nothing else is.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("control/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml is not YAML: %v", err)
	}
	var described []string
	for p, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				described = append(described, strings.ToUpper(m)+" "+p)
			}
		}
	}
	src, _ := os.ReadFile("controlapi.go")
	var routes []string
	for _, m := range regexp.MustCompile(`"(GET|POST|PUT|DELETE) "\+p\+"([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1]+" "+m[2])
	}
	slices.Sort(described)
	slices.Sort(routes)
	if len(routes) < 10 || !slices.Equal(described, routes) {
		t.Errorf("openapi.yaml describes\n%v\nthe handler serves\n%v", described, routes)
	}
}
