package app

import (
	"os"
	"strings"
	"testing"

	"github.com/mpwatch/mpwatch/rules"
)

// TestReadmeRuleExamplesLoad keeps the README's rule reference honest: its
// example rule file must load with the real loader.
func TestReadmeRuleExamplesLoad(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, block := range strings.Split(string(b), "```yaml\n")[1:] {
		block = block[:strings.Index(block, "```")]
		if !strings.HasPrefix(block, "rules:\n") {
			continue
		}
		found++
		rs, err := rules.Parse("README.md", []byte(block))
		if err != nil {
			t.Fatalf("README rule example does not load:\n%v", err)
		}
		types := map[string]bool{}
		for _, r := range rs {
			types[r.Type()] = true
		}
		for _, typ := range rules.Types() {
			if !types[typ] {
				t.Errorf("README has no example of rule type %q", typ)
			}
		}
	}
	if found == 0 {
		t.Fatal("no rule example found in README.md")
	}
}

// TestShippedConfigValidates: `monitor validate` passes on the example
// config.yaml with its watchlists, rule files and notify section.
func TestShippedConfigValidates(t *testing.T) {
	var out, errOut strings.Builder
	if err := Validate("../config.yaml", IO{Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatalf("shipped config does not validate:\n%s", errOut.String())
	}
	if !strings.Contains(out.String(), "config.yaml: ok") || strings.Contains(out.String(), "built-in default rules") {
		t.Fatalf("unexpected summary (rule files not found?):\n%s", out.String())
	}
}
