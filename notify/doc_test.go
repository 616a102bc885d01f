package notify_test

import (
	"os"
	"strings"
	"testing"

	"github.com/mpwatch/mpwatch/internal/yamlx"
)

// The YAML example in doc.go must stay valid.
func TestDocExampleParses(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var yaml []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "//\tnotify:") {
			in = true
		}
		if in {
			if !strings.HasPrefix(line, "//\t") {
				break
			}
			yaml = append(yaml, strings.TrimPrefix(line, "//\t"))
		}
	}
	if len(yaml) < 20 {
		t.Fatalf("example not found (%d lines)", len(yaml))
	}
	old := yamlx.LookupEnv
	yamlx.LookupEnv = func(k string) (string, bool) { return "https://hooks.example.org/" + k, true }
	t.Cleanup(func() { yamlx.LookupEnv = old })
	c := parseConfig(t, strings.Join(yaml, "\n"))
	if len(c.Receivers) != 5 || len(c.Routes) != 3 || c.OpsReceiver != "admins" {
		t.Fatalf("parsed %+v", c)
	}
}
