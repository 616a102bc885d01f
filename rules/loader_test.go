package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
)

func fixture(name string) string { return filepath.Join("testdata", "loader", name) }

func TestLoadFilesErrors(t *testing.T) {
	known := strings.Join(Types(), ", ")
	cases := []struct {
		files []string
		want  []string
	}{
		{[]string{"unknown_type.yaml"}, []string{
			`testdata/loader/unknown_type.yaml:3:11: rules[0].type: unknown rule type "spik" (known types: ` + known + `)`,
		}},
		{[]string{"unknown_key.yaml"}, []string{
			`testdata/loader/unknown_key.yaml:5:5: rules[0].threshhold_ref: unknown key "threshhold_ref" (did you mean "threshold_ref"?)`,
			`testdata/loader/unknown_key.yaml:7:7: rules[0].baseline.window_dayz: unknown key "window_dayz" (did you mean "window_days"?)`,
		}},
		{[]string{"missing_threshold.yaml"}, []string{
			`testdata/loader/missing_threshold.yaml:2:5: rules[0].threshold_cur: required: the minimum replies in the current bucket (> 0); without it a spike rule alerts on noise such as 2 replies against 0`,
		}},
		{[]string{"many.yaml"}, []string{
			`testdata/loader/many.yaml:1:1: top: unknown key "top" (known: rules)`,
			`testdata/loader/many.yaml:3:5: rules[0].name: required`,
			`testdata/loader/many.yaml:4:15: rules[0].severity: unknown severity "urgent" (known: info, warning, high, critical)`,
			`testdata/loader/many.yaml:6:22: rules[0].co_reply.min_component: must be at least 2 (accounts acting together)`,
			`testdata/loader/many.yaml:8:15: rules[0].burst.window: invalid duration "5 minutes" (use a number with a unit: 30s, 5m, 1h, 7d, 2w)`,
			`testdata/loader/many.yaml:9:11: rules[1].name: "bad name!" must be letters, digits, '.', '_' or '-', starting with a letter or digit`,
			`testdata/loader/many.yaml:11:24: rules[1].min_daily_replies: must be > 0 (a source with no normal traffic cannot go quiet)`,
			`testdata/loader/many.yaml:13:19: rules[1].scope.platforms[0]: unknown platform "mastadon" (known: bluesky, facebook, html, mastodon, rss, x, youtube)`,
			`testdata/loader/many.yaml:14:5: rules[2]: a rule is a mapping with name, type and the type's keys`,
		}},
		{[]string{"dup_a.yaml", "dup_b.yaml"}, []string{
			`testdata/loader/dup_b.yaml:4:11: rules[1].name: duplicate rule name "shared" (first defined at testdata/loader/dup_a.yaml:2:11)`,
		}},
		{[]string{"syntax.yaml", "nope.yaml"}, []string{
			`testdata/loader/nope.yaml: read rule file: open testdata/loader/nope.yaml: no such file or directory`,
			`testdata/loader/syntax.yaml:2:1: did not find expected ',' or ']'`,
		}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.files, "+"), func(t *testing.T) {
			var paths []string
			for _, f := range c.files {
				paths = append(paths, fixture(f))
			}
			rs, err := LoadFiles(paths)
			if err == nil {
				t.Fatalf("loaded %d rules, want errors", len(rs))
			}
			var es yamlx.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not yamlx.Errors: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestLoadFilesValid(t *testing.T) {
	rs, err := LoadFiles([]string{fixture("valid.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name() != "spike-a" || rs[1].Enabled() || !rs[0].Enabled() {
		t.Fatalf("rules %+v", rs)
	}
	s := rs[0].Spec.(*SpikeSpec)
	// defaults fill what the file left out
	if s.ThresholdCur != 25 || s.SpikeHeight != 3 || s.Timeframe.D().Hours() != 1 || s.Baseline.WindowDays != 28 ||
		s.Severity != model.SeverityWarning || s.UpdateGrowth != 0.5 || s.Scope.Platforms[0] != model.Bluesky {
		t.Errorf("spec %+v", s)
	}
	if rs[1].Spec.Base().Severity != model.SeverityHigh || rs[1].Spec.Audience() != model.AudienceOps {
		t.Errorf("flatline defaults %+v", rs[1].Spec.Base())
	}
	if rs[0].File != fixture("valid.yaml") || rs[0].Line != 2 || len(rs[0].Hash) != 12 {
		t.Errorf("origin %s:%d hash %q", rs[0].File, rs[0].Line, rs[0].Hash)
	}
	// an edited rule gets a new state key
	rs2, err := Parse("x.yaml", []byte("rules:\n  - {name: spike-a, type: spike, threshold_cur: 26, scope: {targets: [mp-a], platforms: [bluesky]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rs2[0].Hash == rs[0].Hash {
		t.Errorf("changed threshold kept hash %s", rs[0].Hash)
	}
}

func TestLoadDefault(t *testing.T) {
	rs, err := LoadDefault()
	if err != nil {
		t.Fatalf("shipped rules do not load: %v", err)
	}
	types := map[string]bool{}
	for _, r := range rs {
		types[r.Type()] = true
		if r.Spec.Base().Description == "" {
			t.Errorf("rule %s has no description", r.Name())
		}
	}
	for _, want := range []string{"spike", "coordination", "flatline"} {
		if !types[want] {
			t.Errorf("default set lacks a %s rule", want)
		}
	}
	if _, err := NewEngine(rs, EngineOptions{}); err != nil {
		t.Fatalf("default rules do not build: %v", err)
	}
}

// TestReadmeExamples keeps the rule reference honest: every YAML example in
// README.md loads.
func TestReadmeExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```yaml\n")[1:]
	if len(blocks) < 4 {
		t.Fatalf("%d examples", len(blocks))
	}
	for i, blk := range blocks {
		y, _, _ := strings.Cut(blk, "```")
		if _, err := Parse(fmt.Sprintf("README.md example %d", i+1), []byte(y)); err != nil {
			t.Errorf("%v", err)
		}
	}
}
