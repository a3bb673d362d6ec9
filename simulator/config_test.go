package simulator

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestExampleConfigIsCompleteAndDefault keeps config.example.yaml honest: it loads without
// error, holds every setting, and its values are the defaults.
func TestExampleConfigIsCompleteAndDefault(t *testing.T) {
	var cfg Config
	if err := LoadConfigFile("config.example.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Errorf("example values differ from the defaults:\nexample %+v\ndefault %+v", cfg, DefaultConfig())
	}
	raw, _ := os.ReadFile("config.example.yaml")
	var keys map[string]any
	if err := yaml.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		tag := strings.Split(typ.Field(i).Tag.Get("yaml"), ",")[0]
		if _, ok := keys[tag]; !ok {
			t.Errorf("config.example.yaml does not document %q", tag)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"bad listen", func(c *Config) { c.Listen = "6381" }, "listen"},
		{"bad range", func(c *Config) { c.PassivePorts = "4000-3000" }, "passive_ports"},
		{"low range", func(c *Config) { c.PassivePorts = "20-30" }, "passive_ports"},
		{"ipv6 public host", func(c *Config) { c.PublicHost = "::1" }, "public_host"},
		{"scope", func(c *Config) { c.UniqueScope = "planet" }, "unique_scope"},
		{"reuse", func(c *Config) { c.SessionReuse = "yes" }, "session_reuse"},
		{"failures", func(c *Config) { c.Login.MaxFailures = 0 }, "max_failures"},
		{"empty data", func(c *Config) { c.Data = "" }, "data"},
	} {
		cfg := DefaultConfig()
		tc.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if def := DefaultConfig(); def.Validate() != nil {
		t.Errorf("defaults invalid: %v", def.Validate())
	}
	f := t.TempDir() + "/c.yaml"
	os.WriteFile(f, []byte("login:\n  window: soon\n"), 0o644)
	cfg := DefaultConfig()
	if err := LoadConfigFile(f, &cfg); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("bad duration: %v", err)
	}
	os.WriteFile(f, []byte(""), 0o644)
	if err := LoadConfigFile(f, &cfg); err != nil {
		t.Errorf("empty file: %v", err)
	}
}
