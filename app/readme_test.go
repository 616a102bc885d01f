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
