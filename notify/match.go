package notify

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/mpwatch/mpwatch/model"
)

// LabelNames are the names matchers and group_by may use. target, platform,
// team and tag may hold several values for one alert: a positive matcher
// matches when any value does, a negative one when none does.
var LabelNames = []string{"audience", "key", "platform", "rule", "severity", "status", "tag", "target", "team", "type"}

func knownLabel(n string) bool { return slices.Contains(LabelNames, n) }

// Labels returns the values of a label for an alert.
func Labels(a model.Alert, name string) []string {
	switch name {
	case "rule":
		return []string{a.Rule}
	case "type":
		return []string{a.Type}
	case "severity":
		return []string{string(a.Severity)}
	case "status":
		return []string{string(a.Status)}
	case "audience":
		if a.Audience == "" {
			return []string{string(model.AudienceComms)}
		}
		return []string{string(a.Audience)}
	case "key":
		return []string{a.Key}
	case "target":
		return a.Targets
	case "team":
		return a.Teams
	case "tag":
		return a.Tags
	case "platform":
		out := make([]string, len(a.Platforms))
		for i, p := range a.Platforms {
			out[i] = string(p)
		}
		return out
	}
	return nil
}

// Matcher tests one label: name=value, name!=value, name=~regex, name!~regex.
// Regular expressions are anchored at both ends.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"is_regex,omitempty"`
	Negate  bool   `json:"negate,omitempty"`
	re      *regexp.Regexp
}

// ParseMatcher parses "target=mp-a", "severity=~high|critical", "rule!=x".
func ParseMatcher(s string) (Matcher, error) {
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regex or name!~regex", s)
	}
	m := Matcher{Name: strings.TrimSpace(s[:i])}
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "=~"):
		m.IsRegex, m.Value = true, rest[2:]
	case strings.HasPrefix(rest, "!~"):
		m.IsRegex, m.Negate, m.Value = true, true, rest[2:]
	case strings.HasPrefix(rest, "!="):
		m.Negate, m.Value = true, rest[2:]
	case strings.HasPrefix(rest, "="):
		m.Value = rest[1:]
	default:
		return Matcher{}, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regex or name!~regex", s)
	}
	m.Value = strings.Trim(strings.TrimSpace(m.Value), `"`)
	if !knownLabel(m.Name) {
		return Matcher{}, fmt.Errorf("matcher %q: unknown label %q (known: %s)", s, m.Name, strings.Join(LabelNames, ", "))
	}
	if err := m.compile(); err != nil {
		return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
	}
	return m, nil
}

func (m *Matcher) compile() error {
	if !m.IsRegex || m.re != nil {
		return nil
	}
	re, err := regexp.Compile("^(?:" + m.Value + ")$")
	if err != nil {
		return fmt.Errorf("bad regular expression: %w", err)
	}
	m.re = re
	return nil
}

// String writes the matcher back in the form ParseMatcher reads.
func (m Matcher) String() string {
	op := "="
	switch {
	case m.IsRegex && m.Negate:
		op = "!~"
	case m.IsRegex:
		op = "=~"
	case m.Negate:
		op = "!="
	}
	return m.Name + op + m.Value
}

// Matches reports whether the alert satisfies the matcher.
func (m Matcher) Matches(a model.Alert) bool {
	if m.IsRegex && m.re == nil {
		_ = m.compile() // a Matcher built by hand or read back from JSON
	}
	any := false
	for _, v := range Labels(a, m.Name) {
		var ok bool
		if m.IsRegex {
			ok = m.re != nil && m.re.MatchString(v)
		} else {
			ok = v == m.Value
		}
		if ok {
			any = true
			break
		}
	}
	if m.Negate {
		return !any
	}
	return any
}

// MatchAll reports whether every matcher matches (true for none).
func MatchAll(ms []Matcher, a model.Alert) bool {
	for _, m := range ms {
		if !m.Matches(a) {
			return false
		}
	}
	return true
}

func parseMatchers(ss []string) ([]Matcher, []error) {
	var out []Matcher
	var errs []error
	for _, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errs
}
