package rules

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/invopop/jsonschema"
	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/rules/text"
	"go.yaml.in/yaml/v3"
)

// Lexicon is a named list of terms that mark a narrative, per language.
type Lexicon struct {
	// Name labels the lexicon in alerts ("accusations").
	Name string `yaml:"name" json:"name"`
	// Languages maps a language code (en, fr, zh, …) to its terms. Every
	// language's terms are tried on every reply: replies often lack a
	// language tag, and campaigns mix languages.
	Languages map[string]LexiconTerms `yaml:"languages" json:"languages"`
}

// LexiconTerms are the terms of one language. Phrases and keywords are
// normalised like replies (case, homoglyphs, Traditional→Simplified), so
// they are written plainly; French terms also match without accents.
type LexiconTerms struct {
	// Phrases match as whole words on the normalised text ("accused of
	// crimes" does not match "unaccused of crimes"); in Han text, as
	// substrings.
	Phrases []string `yaml:"phrases,omitempty" json:"phrases,omitempty"`
	// Keywords are single words, matched the same way.
	Keywords []string `yaml:"keywords,omitempty" json:"keywords,omitempty"`
	// Regexes are RE2 expressions matched against the normalised text
	// (lowercase, URLs and mentions removed); for French also against the
	// accent-free form. They are compiled when the rule loads. Each is a
	// string, or {name, pattern} to show a readable name in alerts.
	Regexes []LexRegex `yaml:"regexes,omitempty" json:"regexes,omitempty"`
}

// LexRegex is one regular expression of a lexicon, with the name alerts
// show for it (the pattern itself when unnamed).
type LexRegex struct {
	Name    string `yaml:"name,omitempty" json:"name,omitempty"`
	Pattern string `yaml:"pattern" json:"pattern"`
}

// JSONSchema describes both accepted forms for schema-aware editors.
func (LexRegex) JSONSchema() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("name", &jsonschema.Schema{Type: "string", Description: "name shown in alerts"})
	props.Set("pattern", &jsonschema.Schema{Type: "string", Description: "RE2 regular expression"})
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
		{Type: "string", Description: "RE2 regular expression"},
		{Type: "object", Properties: props, Required: []string{"pattern"}, AdditionalProperties: jsonschema.FalseSchema},
	}}
}

// UnmarshalYAML accepts a plain pattern string or a {name, pattern} map.
func (r *LexRegex) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		r.Pattern = n.Value
		return nil
	}
	type plain LexRegex
	var p plain
	if n.Kind != yaml.MappingNode {
		return yamlx.Fail(n, "expected a regular expression or {name, pattern}")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k != "name" && k != "pattern" {
			return yamlx.Fail(n.Content[i], "unknown key %q (a regex entry has name and pattern)", k)
		}
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = LexRegex(p)
	return nil
}

// lexTerm is one compiled term.
type lexTerm struct {
	label  string // "lexicon/term" as shown in alerts
	id     uint16 // index of label in lexMatcher.labels
	pat    string // normalised Text form ("" for a regex)
	folded string // accent-free form, matched against Folded (French)
	re     *regexp.Regexp
	lit    string // a substring every match of re contains ("" = unknown)
	useFld bool
}

type lexMatcher struct {
	terms  []lexTerm
	labels []string // distinct labels: terms with one name count once
}

func (m *lexMatcher) add(t lexTerm) {
	t.id = uint16(len(m.labels))
	for i, l := range m.labels {
		if l == t.label {
			t.id = uint16(i)
		}
	}
	if int(t.id) == len(m.labels) {
		m.labels = append(m.labels, t.label)
	}
	m.terms = append(m.terms, t)
}

// compileLexicons builds the matcher. report receives every problem with
// its key path; the matcher is nil when there was one.
func compileLexicons(lexs []Lexicon, report func(key, format string, args ...any)) *lexMatcher {
	m := &lexMatcher{}
	bad := false
	rep := func(key, format string, args ...any) {
		bad = true
		report(key, format, args...)
	}
	if len(lexs) == 0 {
		rep("lexicons", "required: at least one lexicon with terms")
	}
	names := map[string]bool{}
	for i, lx := range lexs {
		base := fmt.Sprintf("lexicons[%d]", i)
		if lx.Name == "" {
			rep(base+".name", "required")
		} else if names[lx.Name] {
			rep(base+".name", "lexicon %q listed twice", lx.Name)
		}
		names[lx.Name] = true
		if len(lx.Languages) == 0 {
			rep(base+".languages", "required: at least one language with phrases, keywords or regexes")
		}
		for _, lang := range textSortedKeys(lx.Languages) {
			terms := lx.Languages[lang]
			lbase := base + ".languages." + lang
			fr := strings.HasPrefix(strings.ToLower(lang), "fr")
			if len(terms.Phrases)+len(terms.Keywords)+len(terms.Regexes) == 0 {
				rep(lbase, "no phrases, keywords or regexes")
			}
			for _, kl := range []struct {
				kind string
				list []string
			}{{"phrases", terms.Phrases}, {"keywords", terms.Keywords}} {
				kind := kl.kind
				for j, p := range kl.list {
					n := text.Normalize(p)
					if n.Text == "" {
						rep(fmt.Sprintf("%s.%s[%d]", lbase, kind, j), "%q is empty after normalisation", p)
						continue
					}
					if kind == "keywords" && strings.ContainsRune(n.Text, ' ') {
						rep(fmt.Sprintf("%s.%s[%d]", lbase, kind, j), "%q has several words: list it under phrases", p)
						continue
					}
					m.add(lexTerm{label: lx.Name + "/" + p, pat: n.Text, folded: n.Folded, useFld: fr})
				}
			}
			for j, rx := range terms.Regexes {
				expr := rx.Pattern
				if expr == "" {
					rep(fmt.Sprintf("%s.regexes[%d]", lbase, j), "empty pattern")
					continue
				}
				re, err := regexp.Compile(expr)
				if err != nil {
					rep(fmt.Sprintf("%s.regexes[%d]", lbase, j), "invalid regular expression: %v", err)
					continue
				}
				if re.MatchString("") {
					rep(fmt.Sprintf("%s.regexes[%d]", lbase, j), "%q matches the empty text, so it would match every reply", expr)
					continue
				}
				name := rx.Name
				if name == "" {
					name = expr
				}
				m.add(lexTerm{label: lx.Name + "/" + name, re: re, lit: requiredLiteral(expr), useFld: fr})
			}
		}
	}
	if bad {
		return nil
	}
	return m
}

// match appends the label ids of the terms n contains, each once.
func (m *lexMatcher) match(n text.Normalized, dst []uint16) []uint16 {
	dst = dst[:0]
	for _, t := range m.terms {
		if slices.Contains(dst, t.id) {
			continue
		}
		var ok bool
		if t.re != nil {
			if t.lit != "" && !strings.Contains(n.Text, t.lit) && !(t.useFld && strings.Contains(n.Folded, t.lit)) {
				continue // cannot match: skip the regex engine
			}
			ok = t.re.MatchString(n.Text) || t.useFld && n.Folded != n.Text && t.re.MatchString(n.Folded)
		} else {
			ok = lexContainsWord(n.Text, t.pat) || t.useFld && lexContainsWord(n.Folded, t.folded)
		}
		if ok {
			dst = append(dst, t.id)
		}
	}
	return dst
}

// lexContainsWord reports whether pat occurs in s at word boundaries. A
// boundary is only required next to a letter or digit of a spaced script:
// Han, kana and Hangul are written without spaces, so there pat is a
// substring.
func lexContainsWord(s, pat string) bool {
	if pat == "" {
		return false
	}
	for off := 0; ; {
		i := strings.Index(s[off:], pat)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(pat)
		first, _ := utf8.DecodeRuneInString(pat)
		last, _ := utf8.DecodeLastRuneInString(pat)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (i == 0 || !lexJoins(first, before)) && (end == len(s) || !lexJoins(last, after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		off = i + size
	}
}

// lexJoins reports whether a and its neighbour b are parts of one word.
func lexJoins(a, b rune) bool {
	w := func(r rune) bool {
		return (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') && !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
	}
	return w(a) && w(b)
}

// requiredLiteral returns the longest literal that every match of expr
// contains, so most replies are ruled out by strings.Contains before the
// regex engine runs ("" when there is none, or it is case-insensitive).
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	return longestRequired(re.Simplify())
}

func longestRequired(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(re.Rune)
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if l := longestRequired(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	case syntax.OpCapture, syntax.OpPlus:
		return longestRequired(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return longestRequired(re.Sub[0])
		}
	}
	return ""
}
