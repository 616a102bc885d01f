package rules

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mpwatch/mpwatch/rules/text"
)

// refMatch is the matcher as it was before the automaton: one search per
// term and form, each regex run on every reply. It states the semantics
// plainly and is the reference the automaton is pinned against.
func refMatch(m *lexMatcher, n text.Normalized) []uint16 {
	var dst []uint16
	for _, t := range m.terms {
		if slices.Contains(dst, t.id) {
			continue
		}
		var ok bool
		if t.re != nil {
			ok = t.re.MatchString(n.Text) || t.useFld && n.Folded != n.Text && t.re.MatchString(n.Folded)
		} else {
			ok = refContainsWord(n.Text, t.pat) || t.useFld && refContainsWord(n.Folded, t.folded)
		}
		if ok {
			dst = append(dst, t.id)
		}
	}
	return dst
}

// refContainsWord reports whether pat occurs in s at word boundaries (only
// required next to a letter or digit of a spaced script).
func refContainsWord(s, pat string) bool {
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
		if (i == 0 || !refJoins(first, before)) && (end == len(s) || !refJoins(last, after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		off = i + size
	}
}

func refJoins(a, b rune) bool {
	w := func(r rune) bool {
		return (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') && !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
	}
	return w(a) && w(b)
}

// lexTestMatchers are the lexicons the automaton is checked on: the shipped
// rule, the example rule, and one written to stress overlaps (a term inside
// another, shared prefixes and suffixes), terms that begin or end with
// punctuation, Han next to Latin, and regexes with several literals, none,
// or only case-insensitive ones.
func lexTestMatchers(t testing.TB) map[string]*lexMatcher {
	t.Helper()
	out := map[string]*lexMatcher{}
	rs, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if s, ok := r.Spec.(*NarrativeSpec); ok {
			out["shipped "+r.Name()] = lexCompileT(t, s.Lexicons)
		}
	}
	out["example"] = ntLex(t, nil).m
	out["overlaps"] = lexCompileT(t, []Lexicon{
		{Name: "a", Languages: map[string]LexiconTerms{
			"en": {
				Phrases:  []string{"foreign agent", "agent of", "of change", "the the", "a a a", "c'est", "-vin", "x.", "#tag"},
				Keywords: []string{"agent", "gent", "a", "ab", "abc", "bc", "b", "pot-de-vin", "mp丑闻", "k-9", "_x"},
				Regexes: []LexRegex{
					{Pattern: `\baccus\w*\b.{0,60}\bcrim(e|es|inal)\b`},
					{Name: "two", Pattern: `lie(s|d)? .*cover`},
					{Pattern: `(?i)scandal`},
					{Pattern: `(bribe|payoff)s?`},
					{Pattern: `\d{3,}`},
				},
			},
			"fr": {
				Phrases:  []string{"agent étranger", "à la", "é é"},
				Keywords: []string{"traître", "été", "é", "ça", "crime"},
				Regexes:  []LexRegex{{Name: "two", Pattern: `menti.{0,20}vérité`}, {Pattern: `ç+a`}},
			},
			"zh": {Keywords: []string{"丑闻", "闻", "犯罪", "罪行"}, Phrases: []string{"被指控", "掩盖真相"}},
		}},
		{Name: "b", Languages: map[string]LexiconTerms{
			"fr": {Keywords: []string{"agent", "étrange", "scandale"}},
		}},
	})
	return out
}

func lexCompileT(t testing.TB, lexs []Lexicon) *lexMatcher {
	t.Helper()
	var problems []string
	m := compileLexicons(lexs, func(key, format string, args ...any) { problems = append(problems, key) })
	if m == nil {
		t.Fatalf("lexicons do not compile: %v", problems)
	}
	return m
}

// lexCorpus is real text (Ottawa tweets, Weibo comments, YouTube comments),
// generated benchmark replies, and French sentences with and without their
// accents.
func lexCorpus(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"pheme_ottawa.jsonl", "weibo_ced.jsonl"} {
		for _, r := range ntLoad(t, f) {
			out = append(out, r.Text)
		}
	}
	f, err := os.Open("testdata/narrative/youtube05-shakira.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		out = append(out, rec[3])
	}
	g := newBenchGen(2000)
	for {
		rs, _, ok := g.step(5 * 60e9)
		if !ok {
			break
		}
		for _, r := range rs {
			out = append(out, r.Text)
		}
	}
	// Long texts are read in two halves: joined replies put terms across
	// the middle.
	n := len(out)
	for i := 0; i+5 < n; i += 7 {
		out = append(out, strings.Join(out[i:i+2+i%4], " "))
	}
	out = append(out,
		"Le député a été accusé de crimes graves, quel scandale !",
		"le depute a ete accuse de crimes graves, quel scandale",
		"C'est un traître, un agent étranger, il cache la vérité",
		"c'est un traitre, un agent etranger, il cache la verite",
		"Une enquête criminelle? Une ENQUÊTE CRIMINELLE!",
		"Il a menti, toute la vérité sur le pot-de-vin",
		"ça ça ça, à la à la, été étrange",
		"ÉTÉ été ete Été",
	)
	return out
}

// lexMutate inserts terms of m, their accent-free forms and fragments of
// them into s at random places, joined to the text or spaced, so that the
// corpus holds many matches, near misses and overlaps.
func lexMutate(rng *rand.Rand, m *lexMatcher, s string) string {
	var pieces []string
	for _, t := range m.terms {
		if t.re == nil {
			pieces = append(pieces, t.pat, t.folded, strings.ToUpper(t.pat), t.pat[:len(t.pat)/2])
		}
	}
	pieces = append(pieces, "accused ", " of crimes", "accusé", "crime", "lied and then cover", "criminal", "12345", "_", "é", "-", "’", "mp", "丑", "x")
	k := 1 + rng.IntN(4)
	for range k {
		p := pieces[rng.IntN(len(pieces))]
		runes := []rune(s)
		at := rng.IntN(len(runes) + 1)
		switch rng.IntN(3) {
		case 0:
			p = " " + p + " "
		case 1:
			p = " " + p
		}
		s = string(runes[:at]) + p + string(runes[at:])
	}
	return s
}

// TestLexMatcherAgreesWithReference pins the automaton to the plain
// per-term search on the corpora, as they are and with terms inserted.
func TestLexMatcherAgreesWithReference(t *testing.T) {
	corpus := lexCorpus(t)
	for name, m := range lexTestMatchers(t) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			matched, fails := 0, 0
			check := func(s string) {
				n := text.Normalize(s)
				got := m.match(n, nil)
				want := refMatch(m, n)
				if len(want) > 0 {
					matched++
				}
				if !slices.Equal(got, want) && fails < 10 {
					fails++
					t.Errorf("%q (text %q, folded %q): got %v, want %v", s, n.Text, n.Folded, lexLabels(m, got), lexLabels(m, want))
				}
			}
			for _, s := range corpus {
				check(s)
				for range 3 {
					check(lexMutate(rng, m, s))
				}
			}
			// The mutations must reach the terms, or the comparison proves
			// little.
			if matched < len(corpus) {
				t.Errorf("only %d of %d texts matched anything", matched, 4*len(corpus))
			}
		})
	}
}

func lexLabels(m *lexMatcher, ids []uint16) []string {
	var out []string
	for _, id := range ids {
		out = append(out, m.labels[id])
	}
	return out
}

// FuzzLexMatcher compares the automaton with the reference on arbitrary
// text, normalised as replies are, and also raw (not valid UTF-8, not
// normalised: the matcher must agree on whatever it is given).
func FuzzLexMatcher(f *testing.F) {
	for _, s := range []string{"scandal", "accused him of crimes", "mp丑闻 k-9 _x", "agent étranger é é", "\xff\xfeab", "été\u0301", "ça ça a a a"} {
		f.Add(s)
	}
	ms := lexTestMatchers(f)
	f.Fuzz(func(t *testing.T, s string) {
		for name, m := range ms {
			for _, n := range []text.Normalized{text.Normalize(s), {Text: s, Folded: strings.ToLower(s)}, {Text: s, Folded: s}} {
				if got, want := m.match(n, nil), refMatch(m, n); !slices.Equal(got, want) {
					t.Errorf("%s: text %q folded %q: got %v, want %v", name, n.Text, n.Folded, lexLabels(m, got), lexLabels(m, want))
				}
			}
		}
	})
}

// BenchmarkLexMatch measures the matcher alone on the benchmark stream's
// texts (normalised beforehand), with the shipped rule's lexicon.
func BenchmarkLexMatch(b *testing.B) {
	rs, err := LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	var m *lexMatcher
	for _, r := range rs {
		if s, ok := r.Spec.(*NarrativeSpec); ok {
			m = lexCompileT(b, s.Lexicons)
		}
	}
	var ns []text.Normalized
	bytes := 0
	// The stream's mix (campaigns are ~1.5 % of it) needs its full rate:
	// every 20th reply of 400,000.
	g := newBenchGen(400_000)
	k := 0
	for {
		batch, _, ok := g.step(5 * 60e9)
		if !ok {
			break
		}
		for _, r := range batch {
			if k++; k%20 != 0 {
				continue
			}
			n := text.Normalize(r.Text)
			ns = append(ns, n)
			bytes += len(n.Text)
			if n.Folded != n.Text {
				bytes += len(n.Folded)
			}
		}
	}
	var dst []uint16
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		dst = m.match(ns[i%len(ns)], dst)
	}
	b.ReportMetric(float64(bytes)/float64(len(ns)), "bytes/reply")
}
