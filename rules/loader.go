package rules

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"go.yaml.in/yaml/v3"
)

// Rule is one loaded rule: its parsed spec and where it came from.
type Rule struct {
	Spec Spec
	// File and Line locate the rule for messages ("rules/local.yaml:12").
	File string
	Line int
	// Hash identifies the rule's parameters; detector state is stored under
	// the rule name and this hash, so an edited rule starts from fresh state
	// instead of misreading state built for other parameters.
	Hash string
}

// Name is the rule's unique name.
func (r Rule) Name() string { return r.Spec.Base().Name }

// Type is the rule's type ("spike", "coordination", ...).
func (r Rule) Type() string { return r.Spec.Base().Type }

// Enabled reports whether the rule runs; a rule is enabled unless it says
// enabled: false.
func (r Rule) Enabled() bool {
	e := r.Spec.Base().Enabled
	return e == nil || *e
}

//go:embed default/*.yaml
var defaultFS embed.FS

// LoadDefault parses the rule set shipped inside the binary (rules/default).
func LoadDefault() ([]Rule, error) {
	names, err := fs.Glob(defaultFS, "default/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list default rules: %w", err)
	}
	sort.Strings(names)
	files := make([]namedData, 0, len(names))
	for _, n := range names {
		b, err := defaultFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read default rules %s: %w", n, err)
		}
		files = append(files, namedData{"rules/" + n, b})
	}
	return parseAll(files)
}

// DefaultFiles returns the shipped rule files by name, for `monitor` to print
// or copy next to a configuration.
func DefaultFiles() map[string][]byte {
	out := map[string][]byte{}
	names, _ := fs.Glob(defaultFS, "default/*.yaml")
	for _, n := range names {
		b, _ := defaultFS.ReadFile(n)
		out[path.Base(n)] = b
	}
	return out
}

// LoadFiles reads and parses rule files. Every problem in every file is
// reported at once, as yamlx.Errors; rule names must be unique across files.
func LoadFiles(paths []string) ([]Rule, error) {
	var files []namedData
	var errs yamlx.Errors
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, yamlx.Error{File: p, Msg: fmt.Sprintf("read rule file: %v", err)})
			continue
		}
		files = append(files, namedData{p, b})
	}
	rs, err := parseAll(files)
	errs = append(errs, yamlx.AsErrors(err)...)
	if len(errs) > 0 {
		return nil, errs.Sorted()
	}
	return rs, nil
}

// Parse parses one rule file's content. file names it in errors.
func Parse(file string, data []byte) ([]Rule, error) {
	return parseAll([]namedData{{file, data}})
}

type namedData struct {
	name string
	data []byte
}

type firstDef struct {
	file string
	pos  yamlx.Pos
}

func parseAll(files []namedData) ([]Rule, error) {
	var out []Rule
	var errs yamlx.Errors
	seen := map[string]firstDef{}
	for _, f := range files {
		rs, es := parseFile(f.name, f.data, seen)
		out = append(out, rs...)
		errs = append(errs, es...)
	}
	if len(errs) > 0 {
		return nil, errs.Sorted()
	}
	return out, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// fileShape is the top level of a rule file.
type fileShape struct {
	Rules []yaml.Node `yaml:"rules"`
}

func parseFile(file string, data []byte, seen map[string]firstDef) ([]Rule, yamlx.Errors) {
	doc, err := yamlx.Parse(file, data)
	if err != nil {
		return nil, yamlx.AsErrors(err)
	}
	var errs yamlx.Errors
	if doc.Root.Kind != yaml.MappingNode {
		return nil, yamlx.Errors{doc.Errorf("", "a rule file is a mapping with a rules: list")}
	}
	// Check the top level by hand: the rule mappings are decoded per type below.
	for i := 0; i+1 < len(doc.Root.Content); i += 2 {
		k := doc.Root.Content[i]
		if k.Value != "rules" {
			errs = append(errs, yamlx.Error{File: file, Line: k.Line, Column: k.Column, Path: k.Value,
				Msg: fmt.Sprintf("unknown key %q (known: rules)", k.Value)})
		}
	}
	list := yamlx.Get(doc.Root, "rules")
	if list == nil {
		return nil, append(errs, doc.Errorf("rules", "rules: is required (a list of rules)"))
	}
	if list.Kind != yaml.SequenceNode {
		return nil, append(errs, doc.Errorf("rules", "must be a list of rules"))
	}
	var out []Rule
	for i, n := range list.Content {
		p := yamlx.Index("rules", i)
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			errs = append(errs, doc.Errorf(p, "a rule is a mapping with name, type and the type's keys"))
			continue
		}
		tn := yamlx.Get(n, "type")
		if tn == nil || tn.Value == "" {
			errs = append(errs, doc.Errorf(yamlx.Join(p, "type"), "required (known types: %s)", strings.Join(Types(), ", ")))
			continue
		}
		spec, ok := NewSpec(tn.Value)
		if !ok {
			errs = append(errs, doc.Errorf(yamlx.Join(p, "type"), "unknown rule type %q (known types: %s)", tn.Value, strings.Join(Types(), ", ")))
			continue
		}
		before := len(errs)
		// A value that failed to decode keeps its default, so validation
		// still runs and every other problem in the rule is reported too.
		errs = append(errs, doc.DecodeNode(n, p, spec)...)
		report := func(key, format string, args ...any) {
			errs = append(errs, doc.Errorf(yamlx.Join(p, key), format, args...))
		}
		c := spec.Base()
		commonDefaults(c, spec.Audience())
		validateCommon(c, report)
		spec.Validate(report)
		if c.Name != "" {
			if first, dup := seen[c.Name]; dup {
				report("name", "duplicate rule name %q (first defined at %s:%d:%d)", c.Name, first.file, first.pos.Line, first.pos.Column)
			} else {
				seen[c.Name] = firstDef{file, doc.Pos(yamlx.Join(p, "name"))}
			}
		}
		if len(errs) > before {
			continue
		}
		out = append(out, Rule{Spec: spec, File: file, Line: n.Line, Hash: specHash(spec)})
	}
	return out, errs
}

// commonDefaults fills the keys every rule has when the rule left them out.
// A type's SetDefaults may already have set them to its own defaults.
func commonDefaults(c *Common, aud model.Audience) {
	if c.Severity == "" {
		c.Severity = model.SeverityWarning
		if aud == model.AudienceOps {
			c.Severity = model.SeverityHigh
		}
	}
	if c.ResolveAfter == 0 {
		c.ResolveAfter = yamlx.Duration(2 * time.Hour)
	}
	if c.UpdateGrowth == 0 {
		c.UpdateGrowth = 0.5
	}
}

func validateCommon(c *Common, report func(key, format string, args ...any)) {
	switch {
	case c.Name == "":
		report("name", "required")
	case !nameRE.MatchString(c.Name):
		report("name", "%q must be letters, digits, '.', '_' or '-', starting with a letter or digit", c.Name)
	}
	if !c.Severity.Valid() {
		report("severity", "unknown severity %q (known: %s)", c.Severity, joinSev())
	}
	if c.UpdateGrowth < 0 {
		report("update_growth", "must not be negative (0.5 means an open alert is updated when it grew by 50 %%)")
	}
	for i, p := range c.Scope.Platforms {
		if !p.Valid() {
			report(yamlx.Index("scope.platforms", i), "unknown platform %q (known: %s)", p, joinPlatforms())
		}
	}
}

func joinSev() string {
	var s []string
	for _, v := range model.Severities() {
		s = append(s, string(v))
	}
	return strings.Join(s, ", ")
}

func joinPlatforms() string {
	var s []string
	for _, v := range model.Platforms() {
		s = append(s, string(v))
	}
	return strings.Join(s, ", ")
}

// specHash is a short hash of the spec's canonical JSON form.
func specHash(s Spec) string {
	b, err := json.Marshal(s)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", s)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}
