package config

import (
	"bytes"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted returns the effective configuration as YAML, with defaults
// filled in and every watchlist's targets inlined (resolved: defaults
// applied, handles normalised, schedules filled). Secrets appear as the
// "${NAME}" they were read from, or "<secret>" when written literally, so
// the dump is safe to paste into an issue. Placed next to the original and
// with the same variables set, it loads into the same configuration (an
// optional "${NAME:-}" is dumped as "${NAME}": yamlx.Secret keeps only the
// name).
//
// The notify section is dumped as written, except that a value under a key
// that names a credential (token, password, secret, webhook, api_url, key)
// shows as "<secret>" unless it is a "${NAME}" reference: config does not
// know notify's schema, so it errs on the side of hiding.
func (c *Config) Redacted() string {
	if c == nil || c.src == nil {
		return ""
	}
	f := c.src.file
	d := struct {
		Store      StoreSpec    `yaml:"store"`
		Schedule   ScheduleSpec `yaml:"schedule"`
		HTTP       HTTPSpec     `yaml:"http"`
		Log        LogSpec      `yaml:"log"`
		Crawler    CrawlerSpec  `yaml:"crawler"`
		Watchlists []string     `yaml:"watchlists"`
		Targets    []TargetSpec `yaml:"targets"`
		RuleFiles  []string     `yaml:"rule_files"`
		Notify     *yaml.Node   `yaml:"notify,omitempty"`
	}{
		Store: f.Store, Schedule: f.Schedule, HTTP: f.HTTP, Log: f.Log, Crawler: f.Crawler,
		// The targets below already hold every watchlist's, so the dump
		// names no watchlist files.
		Watchlists: []string{},
		Targets:    c.src.targets,
		RuleFiles:  f.RuleFiles,
		Notify:     redactNode(c.src.notify, false),
	}
	if d.RuleFiles == nil {
		d.RuleFiles = []string{}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		// Only unsupported Go types fail to encode, and d has none.
		return "# cannot dump configuration: " + err.Error() + "\n"
	}
	_ = enc.Close()
	return b.String()
}

var (
	secretKeyRE = regexp.MustCompile(`(?i)token|password|passwd|secret|webhook|api_url|(^|_)key$|credential`)
	envRefRE    = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$`)
)

// redactNode copies n, replacing scalars under secret-looking keys.
func redactNode(n *yaml.Node, secret bool) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return redactNode(n.Alias, secret)
	}
	out := *n
	out.Anchor = ""
	out.HeadComment, out.LineComment, out.FootComment = "", "", ""
	switch n.Kind {
	case yaml.ScalarNode:
		if secret && n.Tag != "!!null" && n.Value != "" && !envRefRE.MatchString(strings.TrimSpace(n.Value)) {
			out.Value, out.Tag, out.Style = "<secret>", "!!str", 0
		}
	case yaml.MappingNode:
		out.Content = make([]*yaml.Node, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			out.Content[i] = redactNode(n.Content[i], false)
			out.Content[i+1] = redactNode(n.Content[i+1], secret || secretKeyRE.MatchString(n.Content[i].Value))
		}
	default:
		out.Content = make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out.Content[i] = redactNode(c, secret)
		}
	}
	return &out
}
