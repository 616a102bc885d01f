package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// compileSchemas compiles every schema Schemas returns with an independent
// validator, so the test checks the schemas as editors will read them.
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	raw, err := Schemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ConfigSchemaFile, WatchlistSchemaFile, RulesSchemaFile} {
		if _, ok := raw[name]; !ok {
			t.Fatalf("Schemas() lacks %s", name)
		}
	}
	c := jsonschema.NewCompiler()
	out := map[string]*jsonschema.Schema{}
	for name, b := range raw {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not JSON: %v", name, err)
		}
		url := "file:///schemas/" + name
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("add %s: %v", name, err)
		}
		s, err := c.Compile(url)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

// yamlToJSONValue turns YAML text into the value a YAML editor validates:
// YAML parsed, then seen as JSON.
func yamlToJSONValue(t *testing.T, file string, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if v == nil {
		v = map[string]any{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: to json: %v", file, err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSchemasValidateShippedFiles(t *testing.T) {
	schemas := compileSchemas(t)
	sets := []struct {
		schema string
		glob   string
		min    int
	}{
		{ConfigSchemaFile, "../config.yaml", 1},
		{WatchlistSchemaFile, "../watchlists/*.yaml", 1},
		{RulesSchemaFile, "../rules/default/*.yaml", 1},
	}
	for _, set := range sets {
		files, err := filepath.Glob(set.glob)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) < set.min {
			t.Errorf("%s matches %d files, want at least %d", set.glob, len(files), set.min)
		}
		for _, f := range files {
			t.Run(filepath.Base(f), func(t *testing.T) {
				v := yamlToJSONValue(t, f, readFile(t, f))
				if err := schemas[set.schema].Validate(v); err != nil {
					t.Errorf("%s does not validate against %s:\n%v", f, set.schema, err)
				}
			})
		}
	}
}

func TestSchemasRejectBadFiles(t *testing.T) {
	schemas := compileSchemas(t)
	tests := []struct {
		name   string
		schema string
		yaml   string
		want   string // in the validator's message
	}{
		{"config unknown top-level key", ConfigSchemaFile, "htp:\n  listen: 127.0.0.1:8080\n", "htp"},
		{"config unknown nested key", ConfigSchemaFile, "http:\n  listen: 127.0.0.1:8080\n  bogus: 1\n", "bogus"},
		{"config bad duration", ConfigSchemaFile, "store:\n  retention: 90 days\n", "retention"},
		{"config unknown notify key", ConfigSchemaFile, "notify:\n  recievers: []\n", "recievers"},
		{"config wrong type", ConfigSchemaFile, "crawler:\n  parallelism: many\n", "parallelism"},
		{"watchlist unknown account key", WatchlistSchemaFile, "targets:\n  - id: a\n    name: A\n    accounts:\n      - platform: mastodon\n        handel: '@a@x.social'\n", "handel"},
		{"rules unknown rule key", RulesSchemaFile, "rules:\n  - name: s\n    type: spike\n    treshold_cur: 5\n", "treshold_cur"},
		{"rules unknown rule type", RulesSchemaFile, "rules:\n  - name: s\n    type: spkie\n", "oneOf"},
		{"rules missing name", RulesSchemaFile, "rules:\n  - type: spike\n", "name"},
		{"rules unknown top-level key", RulesSchemaFile, "rules: []\nrule: []\n", "rule"},
		{"rules bad severity", RulesSchemaFile, "rules:\n  - name: s\n    type: spike\n    severity: urgent\n", "severity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schemas[tt.schema].Validate(yamlToJSONValue(t, tt.name, []byte(tt.yaml)))
			if err == nil {
				t.Fatalf("%s accepted:\n%s", tt.schema, tt.yaml)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not mention %q:\n%v", tt.want, err)
			}
		})
	}
}

// TestSchemaAgreesWithLoaderFixtures checks the config package's own
// fixtures: the file its loader rejects for unknown keys is rejected by the
// schema for the same keys, and its valid fixture validates.
func TestSchemaAgreesWithLoaderFixtures(t *testing.T) {
	schemas := compileSchemas(t)
	bad := "../config/testdata/unknown_key/config.yaml"
	err := schemas[ConfigSchemaFile].Validate(yamlToJSONValue(t, bad, readFile(t, bad)))
	if err == nil {
		t.Fatalf("%s validates, but the loader rejects its unknown keys", bad)
	}
	for _, key := range []string{"stor", "timout"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("schema error does not name %q:\n%v", key, err)
		}
	}
	good := "../config/testdata/valid/config.yaml"
	if err := schemas[ConfigSchemaFile].Validate(yamlToJSONValue(t, good, readFile(t, good))); err != nil {
		t.Errorf("%s is valid for the loader but not for the schema:\n%v", good, err)
	}
}

func TestSchemasAcceptMinimalFiles(t *testing.T) {
	schemas := compileSchemas(t)
	tests := []struct {
		name, schema, yaml string
	}{
		{"empty config", ConfigSchemaFile, ""},
		{"durations", ConfigSchemaFile, "store:\n  retention: 90d\ncrawler:\n  timeout: 1m30s\n  delay: 0\n  lookback: 2w\n"},
		{"secret from env", ConfigSchemaFile, "http:\n  bearer_token: ${MPWATCH_TOKEN}\n"},
		{"one rule per type", RulesSchemaFile, "rules:\n  - name: s\n    type: spike\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := schemas[tt.schema].Validate(yamlToJSONValue(t, tt.name, []byte(tt.yaml))); err != nil {
				t.Errorf("rejected:\n%s\n%v", tt.yaml, err)
			}
		})
	}
}

var updateSchemas = flag.Bool("update-schemas", false, "rewrite schemas/*.json from the loaders' types")

// TestShippedSchemasAreCurrent keeps schemas/ (which the example files name
// in their yaml-language-server line) in step with the loaders' types.
func TestShippedSchemasAreCurrent(t *testing.T) {
	schemas, err := Schemas()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range schemas {
		path := filepath.Join("..", "schemas", name)
		if *updateSchemas {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run: go test ./app -run ShippedSchemas -update-schemas)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go test ./app -run ShippedSchemas -update-schemas", path)
		}
	}
}
