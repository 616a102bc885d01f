package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules/text"
)

// ntLexiconRule loads the example accusation rule the way the daemon does.
func ntLexiconRule(t testing.TB) *NarrativeSpec {
	t.Helper()
	data, err := os.ReadFile("testdata/narrative/lexicon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Parse("testdata/narrative/lexicon.yaml", data)
	if err != nil {
		t.Fatalf("example lexicon rule does not load: %v", err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d rules", len(rs))
	}
	s, ok := rs[0].Spec.(*NarrativeSpec)
	if !ok {
		t.Fatalf("spec is %T", rs[0].Spec)
	}
	return s
}

func ntLex(t testing.TB, mod func(*NarrativeSpec)) *lexDetector {
	t.Helper()
	s := *ntLexiconRule(t)
	if mod != nil {
		mod(&s)
	}
	d, err := s.NewDetector(Env{Targets: map[string]model.Target{"mp-a": {ID: "mp-a", Name: "Jane Doe"}}})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*lexDetector)
}

func TestLexiconMatching(t *testing.T) {
	m := ntLex(t, nil).m
	tests := []struct {
		reply string
		want  []string // term labels, in lexicon order
	}{
		{"This MP is a disgrace, the scandal will come out", []string{"accusations/scandal"}},
		{"What a ѕсаndаl!!! 🔥", []string{"accusations/scandal"}}, // homoglyphs, emoji
		{"scandalous behaviour but nothing more", nil},           // whole words only
		{"incorrupt and incorruptible", nil},                     // whole words only
		{"He was ACCUSED OF CRIMES by a critic", []string{"accusations/accused … of crimes"}},
		{"A critic accused Jane Doe of serious crimes", []string{"accusations/accused … of crimes"}},
		{"Le député accuse de crimes graves, quel scandale", []string{"accusations/accused … of crimes", "accusations/scandale"}}, // accents stripped
		{"Un critique a accusé le député de crimes", []string{"accusations/accused … of crimes"}},
		{"<p>C&#39;est un <b>traître</b></p>", []string{"accusations/traître"}},
		{"這位議員的醜聞曝光了", []string{"accusations/丑闻"}}, // Traditional folded
		{"这位议员被指控犯罪", []string{"accusations/被指控", "accusations/犯罪"}},
		{"this crime by the minister must be investigated", []string{`accusations/\bcrim(e|es|inal)\b.{0,40}\b(mp|minister|member)\b`}},
		{"Thank you for the new bridge in our riding", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, id := range m.match(text.Normalize(tt.reply), nil) {
			got = append(got, m.labels[id])
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%q matched %q, want %q", tt.reply, got, tt.want)
		}
	}
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`\baccus\w*\b.{0,60}\bcrim(e|es|inal)\b`, []string{"accus", "crim"}},
		{`\bcrim(e|es|inal)\b.{0,40}\b(mp|minister)\b`, []string{"crim", "m"}}, // factored as m(p|inister)
		{`foreign (agent|interference)`, []string{"foreign "}},
		{`(?i)scandal`, nil},
		{`a|b`, nil},
		{`x*`, nil},
		{`(corrupt)+ion`, []string{"corrupt", "ion"}},
		{`(ab){2}c?d`, []string{"ab", "d"}},
		{`\x{FFFD}x`, nil}, // U+FFFD also matches invalid bytes: no literal
	}
	for _, tt := range tests {
		if got := requiredLiterals(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// TestLexWordBoundaries checks where a keyword counts as a whole word.
func TestLexWordBoundaries(t *testing.T) {
	tests := []struct {
		s, pat string
		want   bool
	}{
		{"a scandal here", "scandal", true},
		{"scandal", "scandal", true},
		{"scandals", "scandal", false},
		{"the scandals and the scandal", "scandal", true},
		{"the scandals and the scandalous", "scandal", false},
		{"x-scandal!", "scandal", true},
		{"_scandal", "scandal", false},
		{"scandal2", "scandal", false},
		{"éscandal", "scandal", false},
		{"议员丑闻曝光", "丑闻", true},
		{"mp丑闻", "丑闻", true},
		{"pot-de-vin!", "pot-de-vin", true},
		{"pot-de-vins", "pot-de-vin", false},
		{"", "x", false},
	}
	for _, tt := range tests {
		m := lexCompileT(t, []Lexicon{{Name: "l", Languages: map[string]LexiconTerms{"en": {Keywords: []string{tt.pat}}}}})
		got := len(m.match(text.Normalized{Text: tt.s, Folded: tt.s}, nil)) == 1
		if got != tt.want {
			t.Errorf("keyword %q in %q: %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

// ntAccusations is a campaign's varied wording around one vocabulary.
var ntAccusations = []string{
	"This MP was accused of crimes and hides it. Scandal!",
	"Le député a été accusé de crimes, c'est un scandale",
	"這位議員被指控犯罪，醜聞！",
	"Why is nobody talking about the corruption of this MP?",
	"She is a traitor and everyone knows it",
	"le depute est corrompu, quel scandale",
	"议员腐败，掩盖真相",
	"Another scandal from this government, accused of crimes again",
}

// ntLexTraffic is n organic replies to target (real Ottawa replies) over
// 24h, and k accusations by k distinct new accounts.
func ntLexTraffic(t testing.TB, target string, n, k int) []model.Reply {
	org := ntLoad(t, "pheme_ottawa.jsonl")
	var rs []model.Reply
	for i := range n {
		r := org[i%len(org)]
		r.ID = fmt.Sprintf("%s-o%d", target, i)
		r.Target = target
		r.Author = model.Author{ID: fmt.Sprintf("citizen%d", i), Handle: fmt.Sprintf("citizen%d", i)}
		r.CreatedAt = ntStart.Add(time.Duration(i) * 24 * time.Hour / time.Duration(n))
		rs = append(rs, r)
	}
	created := ntStart.Add(-5 * 24 * time.Hour)
	for i := range k {
		r := ntReply(fmt.Sprintf("%s-a%d", target, i), target, fmt.Sprintf("patriot%08d", 20240000+i), ntAccusations[i%len(ntAccusations)], 12*time.Hour+time.Duration(i)*10*time.Minute)
		r.Author.CreatedAt = &created
		rs = append(rs, r)
	}
	return rs
}

func TestNarrativeOrganicRepliesDoNotFire(t *testing.T) {
	d := ntLex(t, nil)
	org := ntLoad(t, "pheme_ottawa.jsonl")
	for i, r := range org {
		r.Target = "mp-a"
		r.CreatedAt = ntStart.Add(time.Duration(i) * time.Minute)
		d.Observe(ntItem(r))
	}
	fs := d.Evaluate(ntStart.Add(6 * time.Hour))
	for _, f := range fs {
		t.Errorf("organic replies fired: %s", f.Summary)
	}
}

func TestNarrativeFires(t *testing.T) {
	d := ntLex(t, nil)
	ntObserve(d, ntLexTraffic(t, "mp-a", 150, 12)...) // 12 of 162 = 7.4 %
	ntObserve(d, ntLexTraffic(t, "mp-b", 150, 4)...)  // below min_count
	fs := d.Evaluate(ntStart.Add(26 * time.Hour))
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1 (mp-a)", len(fs))
	}
	f := fs[0]
	if f.Scope != "target:mp-a" || f.Size != 12 || len(f.ReplyIDs) != 12 || len(f.Accounts) != 12 {
		t.Errorf("scope %s size %v ids %d accounts %d", f.Scope, f.Size, len(f.ReplyIDs), len(f.Accounts))
	}
	if want := ntStart.Add(12 * time.Hour).Truncate(time.Hour); !f.WindowStart.Equal(want) {
		t.Errorf("window start %v, want %v", f.WindowStart, want)
	}
	if f.Metrics["term:accusations/scandal"] != 3 || f.Metrics["term:accusations/corruption"] != 2 || f.Metrics["term:accusations/丑闻"] != 2 || f.Metrics["replies_total"] != 162 {
		t.Errorf("metrics %v", f.Metrics)
	}
	want := `12 replies from 12 accounts to Jane Doe used the accusations lexicon within 2h (7.4% of 162 replies): "accused … of crimes" ×5, "scandal" ×3, "scandale" ×3, and 8 more`
	if f.Summary != want {
		t.Errorf("summary\n got %s\nwant %s", f.Summary, want)
	}
	if n := len(f.Evidence.Samples); n != 5 {
		t.Errorf("%d samples, want 5", n)
	}
	if s := f.Evidence.Signals; s == nil || s.NewAccountShare != 1 || s.DigitHandleShare != 1 {
		t.Errorf("signals %+v", f.Evidence.Signals)
	}
	// More accusations later: the same finding (scope and window start).
	ntObserve(d, ntReply("late", "mp-a", "late00000001", "accused of crimes, total scandal", 30*time.Hour))
	fs = d.Evaluate(ntStart.Add(31 * time.Hour))
	if len(fs) != 1 || fs[0].Scope != f.Scope || !fs[0].WindowStart.Equal(f.WindowStart) || fs[0].Size != 13 {
		t.Errorf("after growth: %+v", fs)
	}
	// Once the window has passed, nothing fires and the state is gone.
	if fs := d.Evaluate(ntStart.Add(200 * time.Hour)); len(fs) != 0 || len(d.groups) != 0 {
		t.Errorf("after the window: %d findings, %d groups", len(fs), len(d.groups))
	}
}

func TestNarrativeThresholds(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*NarrativeSpec)
		organic int
		k       int
		fire    bool
	}{
		{"count and share", nil, 150, 12, true},
		{"share too low with and", nil, 1000, 12, false},
		{"share too low with or", func(s *NarrativeSpec) { s.Combine = "or" }, 1000, 12, true},
		{"count too low with or but share high", func(s *NarrativeSpec) { s.Combine = "or"; s.MinAccounts = 3 }, 20, 5, true},
		{"count only", func(s *NarrativeSpec) { s.MinShare = 0 }, 1000, 12, true},
		{"too few accounts", func(s *NarrativeSpec) { s.MinAccounts = 13 }, 150, 12, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ntLex(t, tt.mod)
			ntObserve(d, ntLexTraffic(t, "mp-a", tt.organic, tt.k)...)
			fs := d.Evaluate(ntStart.Add(26 * time.Hour))
			if got := len(fs) == 1; got != tt.fire {
				t.Errorf("fired = %v, want %v", got, tt.fire)
			}
		})
	}
	t.Run("one account repeating itself", func(t *testing.T) {
		d := ntLex(t, nil)
		for i := range 20 {
			ntObserve(d, ntReply(fmt.Sprint("r", i), "mp-a", "angry_one", "what a scandal, accused of crimes", time.Duration(i)*time.Minute))
		}
		if fs := d.Evaluate(ntStart.Add(time.Hour)); len(fs) != 0 {
			t.Error("one account fired")
		}
	})
	t.Run("group_by all", func(t *testing.T) {
		d := ntLex(t, func(s *NarrativeSpec) { s.GroupBy = "all" })
		ntObserve(d, ntLexTraffic(t, "mp-a", 50, 6)...)
		ntObserve(d, ntLexTraffic(t, "mp-b", 50, 6)...)
		fs := d.Evaluate(ntStart.Add(26 * time.Hour))
		if len(fs) != 1 || fs[0].Scope != "all" || len(fs[0].Targets) != 2 || fs[0].Size != 12 {
			t.Errorf("findings %+v", fs)
		}
	})
}

func TestNarrativeStateRoundTrip(t *testing.T) {
	d := ntLex(t, nil)
	ntObserve(d, ntLexTraffic(t, "mp-a", 150, 12)...)
	now := ntStart.Add(26 * time.Hour)
	want := d.Evaluate(now)
	st, err := d.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	d2 := ntLex(t, nil)
	if err := d2.UnmarshalState(st); err != nil {
		t.Fatal(err)
	}
	got := d2.Evaluate(now)
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if len(want) != 1 || string(wj) != string(gj) {
		t.Errorf("after restart\n got %s\nwant %s", gj, wj)
	}
	if err := d2.UnmarshalState([]byte("{")); err == nil {
		t.Error("broken state accepted")
	}
}

func TestNarrativeValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"bad regex and missing min_count", `rules:
  - name: bad
    type: narrative
    lexicons:
      - name: x
        languages:
          en:
            regexes: ['(unclosed']
`, []string{"min_count: required", `lexicons[0].languages.en.regexes[0]: invalid regular expression`}},
		{"empty lexicon and bad grouping", `rules:
  - name: bad2
    type: narrative
    min_count: 3
    group_by: platform
    min_share: 2
    lexicons:
      - name: x
        languages:
          fr: {}
`, []string{`group_by: must be target or all, got "platform"`, "min_share: must be between 0 and 1", "lexicons[0].languages.fr: no phrases, keywords or regexes"}},
		{"keyword with spaces and regex matching nothing", `rules:
  - name: bad3
    type: narrative
    min_count: 3
    lexicons:
      - name: x
        languages:
          en:
            keywords: ["two words"]
            regexes: ['a*']
`, []string{`keywords[0]: "two words" has several words`, `regexes[0]: "a*" matches the empty text`}},
		{"regex entry with a typo", `rules:
  - name: bad5
    type: narrative
    min_count: 3
    lexicons:
      - name: x
        languages:
          en:
            regexes:
              - {name: a, patern: b}
`, []string{`unknown key "patern"`}},
		{"no lexicons", `rules:
  - name: bad4
    type: narrative
    min_count: 3
`, []string{"lexicons: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if !strings.Contains(msg, "bad.yaml:") {
				t.Errorf("error lacks the file position:\n%s", msg)
			}
		})
	}
}

func TestLexRegexSchemaAcceptsBothForms(t *testing.T) {
	s := LexRegex{}.JSONSchema()
	if len(s.OneOf) != 2 || s.OneOf[0].Type != "string" || s.OneOf[1].Type != "object" {
		t.Fatalf("schema %+v", s)
	}
	if _, ok := s.OneOf[1].Properties.Get("pattern"); !ok {
		t.Error("object form lacks pattern")
	}
}
