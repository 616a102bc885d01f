package rules

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
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
	lits   []string // substrings every match of re contains (none = unknown)
	lit0   int      // index of lits[0] among the matcher's literals
	useFld bool
}

// lexMatcher finds a reply's terms. It keeps scratch space between calls,
// so one matcher serves one goroutine (a detector is only ever observed by
// one).
type lexMatcher struct {
	terms   []lexTerm
	labels  []string // distinct labels: terms with one name count once
	ac      *lexAC
	nLits   int
	hasFold bool // some term is looked for in Folded
	bareRe  bool // some regex has no required literal: it runs on every reply
	scan    lexScan
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

// build compiles every phrase, keyword and regex literal into one
// automaton (see lexAC).
func (m *lexMatcher) build() {
	var pats []lexACPattern
	for i := range m.terms {
		t := &m.terms[i]
		if t.re != nil {
			t.lit0 = m.nLits
			m.bareRe = m.bareRe || len(t.lits) == 0
			for j, l := range t.lits {
				pats = append(pats, lexACPattern{s: l, out: lexOut{id: int32(t.lit0 + j), lit: true, pass: lexPassText}})
				if t.useFld {
					pats = append(pats, lexACPattern{s: l, out: lexOut{id: int32(t.lit0 + j), lit: true, pass: lexPassFold}})
					m.hasFold = true
				}
			}
			m.nLits += len(t.lits)
			continue
		}
		pats = append(pats, lexACPattern{s: t.pat, out: lexOut{id: int32(i), pass: lexPassText}})
		if t.useFld && t.folded != "" {
			pats = append(pats, lexACPattern{s: t.folded, out: lexOut{id: int32(i), pass: lexPassFold}})
			m.hasFold = true
		}
	}
	m.ac = newLexAC(pats)
	m.scan = lexScan{term: make([]bool, len(m.terms)), litText: make([]bool, m.nLits), litFold: make([]bool, m.nLits)}
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
				m.add(lexTerm{label: lx.Name + "/" + name, re: re, lits: requiredLiterals(expr), useFld: fr})
			}
		}
	}
	if bad {
		return nil
	}
	m.build()
	return m
}

// match appends the label ids of the terms n contains, each once, in the
// order of the terms. A phrase or keyword matches as a whole word in Text,
// or for French in Folded; a regex matches Text, or for French Folded when
// it differs. The automaton finds the phrases, keywords and the literals
// each regex needs in one pass per form, and a regex runs only when all its
// literals are in the form it is run on: on the benchmark stream no organic
// reply reaches the regex engine.
func (m *lexMatcher) match(n text.Normalized, dst []uint16) []uint16 {
	sc := &m.scan
	if sc.found {
		clear(sc.term)
		clear(sc.litText)
		clear(sc.litFold)
		sc.found = false
	}
	same := n.Folded == n.Text
	switch {
	case same:
		m.ac.scan(n.Text, lexPassText|lexPassFold, sc)
	case m.hasFold:
		m.ac.scan2(n.Text, 0, len(n.Text), lexPassText, n.Folded, 0, len(n.Folded), lexPassFold, sc)
	default:
		m.ac.scan(n.Text, lexPassText, sc)
	}
	dst = dst[:0]
	if !sc.found && !m.bareRe {
		// Most replies: nothing found and no regex to run. (Going through
		// the terms anyway was ~100 ns per reply with the shipped rule.)
		return dst
	}
	for i := range m.terms {
		t := &m.terms[i]
		if slices.Contains(dst, t.id) {
			continue
		}
		var ok bool
		if t.re != nil {
			lits := t.lit0 + len(t.lits)
			ok = lexAll(sc.litText[t.lit0:lits]) && t.re.MatchString(n.Text) ||
				t.useFld && !same && lexAll(sc.litFold[t.lit0:lits]) && t.re.MatchString(n.Folded)
		} else {
			ok = sc.term[i]
		}
		if ok {
			dst = append(dst, t.id)
		}
	}
	return dst
}

func lexAll(found []bool) bool {
	for _, f := range found {
		if !f {
			return false
		}
	}
	return true
}

// requiredLiterals returns substrings that every match of expr contains,
// so a reply without one of them is ruled out before the regex engine runs
// (none when nothing is certain, e.g. under (?i) or in an alternation).
func requiredLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	var out []string
	lexRequired(re.Simplify(), func(l string) {
		// The regex engine reads an invalid byte as U+FFFD, so a literal
		// U+FFFD can match text that lacks its bytes.
		if l != "" && !strings.ContainsRune(l, utf8.RuneError) && !slices.Contains(out, l) && len(out) < 16 {
			out = append(out, l)
		}
	})
	return out
}

func lexRequired(re *syntax.Regexp, add func(string)) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase == 0 {
			add(string(re.Rune))
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			lexRequired(sub, add)
		}
	case syntax.OpCapture, syntax.OpPlus:
		lexRequired(re.Sub[0], add)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			lexRequired(re.Sub[0], add)
		}
	}
}
