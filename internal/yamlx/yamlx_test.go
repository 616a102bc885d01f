package yamlx

import (
	"strings"
	"testing"
	"time"
)

type acct struct {
	Platform string `yaml:"platform"`
	Handle   string `yaml:"handle"`
	Token    Secret `yaml:"token"`
}

type tgt struct {
	ID       string   `yaml:"id"`
	Every    Duration `yaml:"every"`
	Accounts []acct   `yaml:"accounts"`
}

type file struct {
	Targets []tgt `yaml:"targets"`
}

func TestDecodeReportsEveryProblemWithPosition(t *testing.T) {
	old := LookupEnv
	LookupEnv = func(k string) (string, bool) {
		if k == "SET" {
			return "s3cr3t", true
		}
		return "", false
	}
	t.Cleanup(func() { LookupEnv = old })
	src := `targets:
  - id: a
    every: 7d
    accounts:
      - platform: mastodon
        handel: "@x@y"
        token: ${SET}
  - id: b
    every: soon
    colour: red
    accounts:
      - platform: bluesky
        token: ${UNSET}
`
	d, err := Parse("w.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var f file
	errs := d.Decode(&f)
	got := errs.Error()
	want := []string{
		`w.yaml:6:9: targets[0].accounts[0].handel: unknown key "handel" (did you mean "handle"?)`,
		`w.yaml:9:12: targets[1].every: invalid duration "soon"`,
		`w.yaml:10:5: targets[1].colour: unknown key "colour"`,
		`w.yaml:13:16: targets[1].accounts[0].token: environment variable UNSET is not set`,
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if strings.Contains(got, "s3cr3t") {
		t.Fatalf("secret leaked: %s", got)
	}
	if f.Targets[0].Every.D() != 7*24*time.Hour || f.Targets[0].Accounts[0].Token.Value() != "s3cr3t" {
		t.Fatalf("decoded %+v", f.Targets[0])
	}
}

func TestParseSyntaxErrorHasLine(t *testing.T) {
	_, err := Parse("bad.yaml", []byte("a: 1\nb: [1, 2\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "bad.yaml:") {
		t.Fatalf("got %v", err)
	}
	es := AsErrors(err)
	if len(es) != 1 || es[0].Line == 0 {
		t.Fatalf("no line in %#v", es)
	}
}
