package app

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/mpwatch/mpwatch/config"
	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/rules"
)

// Schema file names, as `monitor schema` writes them and the example files'
// `# yaml-language-server: $schema=…` lines name them.
const (
	ConfigSchemaFile    = "config.schema.json"
	WatchlistSchemaFile = "watchlist.schema.json"
	RulesSchemaFile     = "rules.schema.json"
)

// draft07 is the schema dialect written. The keywords used (properties,
// additionalProperties, oneOf, const, enum, pattern) mean the same in every
// draft; draft-07 is the one yaml-language-server and most editors support
// fully.
const draft07 = "http://json-schema.org/draft-07/schema#"

// Schemas returns JSON Schemas for editor support of config.yaml, watchlist
// files and rule files, keyed by file name. They are reflected from the same
// Go types the strict loaders decode into, through their yaml tags, so a key
// the loader rejects as unknown is also unknown to the editor. The schemas
// check shape only (keys, types, enums, duration syntax); the loaders'
// validation (cross-references, globs, cron specs) stays authoritative.
func Schemas() (map[string][]byte, error) {
	out := map[string][]byte{}
	build := map[string]func() (*jsonschema.Schema, error){
		ConfigSchemaFile: configSchema,
		WatchlistSchemaFile: func() (*jsonschema.Schema, error) {
			return reflectRoot(&config.WatchlistFile{}, "mpwatch watchlist file"), nil
		},
		RulesSchemaFile: rulesSchema,
	}
	for name, f := range build {
		s, err := f()
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", name, err)
		}
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		out[name] = append(b, '\n')
	}
	return out, nil
}

func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		FieldNameTag: "yaml",
		// yaml.v3 names an untagged field by its lower-cased Go name; tagged
		// names are already lower case.
		KeyNamer:                   strings.ToLower,
		AllowAdditionalProperties:  false, // unknown keys are errors, as in the loaders
		RequiredFromJSONSchemaTags: true,  // every key has a default; the loaders say what is required
		DoNotReference:             true,  // self-contained pieces that compose into oneOf
		Anonymous:                  true,
		Mapper:                     mapType,
	}
}

// Types whose YAML form is not their Go shape.
var (
	durationType = reflect.TypeOf(yamlx.Duration(0))
	secretType   = reflect.TypeOf(yamlx.Secret{})
	modelSecret  = reflect.TypeOf(model.Secret(""))
	severityType = reflect.TypeOf(model.Severity(""))
	platformType = reflect.TypeOf(model.Platform(""))
)

// durationPattern accepts what yamlx.ParseDuration does: Go durations
// ("1h30m", "90s", "0") and whole days or weeks ("90d", "2w").
const durationPattern = `^\s*(0|[0-9]+[dw]|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)\s*$`

func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case durationType:
		return &jsonschema.Schema{
			Description: "A duration: 30s, 5m, 1h30m, 7d or 2w.",
			AnyOf: []*jsonschema.Schema{
				{Type: "string", Pattern: durationPattern},
				{Type: "integer", Const: 0},
			},
		}
	case secretType, modelSecret:
		return &jsonschema.Schema{Type: "string", Description: "A credential; write ${NAME} to read it from the environment."}
	case severityType:
		s := &jsonschema.Schema{Type: "string"}
		for _, v := range model.Severities() {
			s.Enum = append(s.Enum, string(v))
		}
		return s
	case platformType:
		s := &jsonschema.Schema{Type: "string"}
		for _, v := range model.Platforms() {
			s.Enum = append(s.Enum, string(v))
		}
		return s
	}
	return nil
}

func reflectRoot(v any, title string) *jsonschema.Schema {
	s := reflector().Reflect(v)
	s.Version = draft07
	s.Title = title
	return s
}

func configSchema() (*jsonschema.Schema, error) {
	s := reflectRoot(&config.ConfigFile{}, "mpwatch config.yaml")
	// config leaves the notify: section to notify, which decodes it from its
	// own types; describe it from those.
	n := reflector().Reflect(&notify.Config{})
	n.Version, n.ID = "", ""
	if s.Properties == nil {
		return nil, fmt.Errorf("config schema has no properties")
	}
	if _, ok := s.Properties.Get("notify"); !ok {
		return nil, fmt.Errorf("config schema has no notify property")
	}
	s.Properties.Set("notify", n)
	return s, nil
}

// rulesSchema describes a rule file: a rules: list whose items are one of the
// registered rule types, told apart by their type: key.
func rulesSchema() (*jsonschema.Schema, error) {
	var one []*jsonschema.Schema
	for _, typ := range rules.Types() {
		spec, ok := rules.NewSpec(typ)
		if !ok {
			return nil, fmt.Errorf("rule type %q is listed but has no spec", typ)
		}
		s := reflector().Reflect(spec)
		s.Version, s.ID = "", ""
		s.Title = typ + " rule"
		if s.Properties == nil {
			return nil, fmt.Errorf("rule type %q: schema has no properties", typ)
		}
		if _, ok := s.Properties.Get("type"); !ok {
			return nil, fmt.Errorf("rule type %q: spec has no type key (does it embed rules.Common inline?)", typ)
		}
		s.Properties.Set("type", &jsonschema.Schema{Const: typ})
		s.Required = []string{"name", "type"}
		one = append(one, s)
	}
	if len(one) == 0 {
		return nil, fmt.Errorf("no rule types registered")
	}
	props := jsonschema.NewProperties()
	props.Set("rules", &jsonschema.Schema{
		Type:        "array",
		Description: "Detection rules; each is one of the rule types, chosen by its type key.",
		Items:       &jsonschema.Schema{OneOf: one},
	})
	return &jsonschema.Schema{
		Version:              draft07,
		Title:                "mpwatch rule file",
		Type:                 "object",
		Properties:           props,
		Required:             []string{"rules"},
		AdditionalProperties: jsonschema.FalseSchema,
	}, nil
}
