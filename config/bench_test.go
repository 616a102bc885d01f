package config

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse1000Accounts loads a watchlist of the target scale (500
// people, 1,000 accounts), as every hot reload does.
func BenchmarkParse1000Accounts(b *testing.B) {
	var w strings.Builder
	w.WriteString("defaults: {team: big, tags: [federal]}\ntargets:\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&w, "  - id: mp-%d\n    name: MP %d\n    aliases: [Member %d]\n    accounts:\n", i, i, i)
		fmt.Fprintf(&w, "      - {platform: mastodon, handle: \"@mp%d@social.example\"}\n", i)
		fmt.Fprintf(&w, "      - {platform: bluesky, handle: mp%d.bsky.social, schedule: \"*/10 * * * *\"}\n", i)
	}
	fsys := memFS(map[string]string{"watchlists/big.yaml": w.String()})
	cfgData := []byte("rule_files: []\n")
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := Parse("config.yaml", cfgData, fsys)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Targets) != 500 {
			b.Fatalf("%d targets", len(cfg.Targets))
		}
	}
}
