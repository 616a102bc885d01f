package app

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoFindsTheCampaignAndNotThePopularPost runs the demo at full speed:
// simulated servers, the real scheduler, crawler over HTTP, store, default
// rules and console notifier. The campaign must be found across its MPs, the
// Chinese-language push found, and the popular post not reported.
func TestDemoFindsTheCampaignAndNotThePopularPost(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes a few seconds")
	}
	var stdout, stderr bytes.Buffer
	res, err := RunDemo(context.Background(), DemoOptions{
		// A crawl cycle every 3 simulated minutes, whatever the machine's
		// load: on real time at 10,000× a loaded machine (or the race
		// detector) stretched cycles to hours and made detection late.
		Step: 3 * time.Minute, DB: filepath.Join(t.TempDir(), "demo.db"),
	}, IO{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if res.Replies["mastodon"] == 0 || res.Replies["bluesky"] == 0 {
		t.Fatalf("crawler collected nothing on a platform: %v", res.Replies)
	}
	for _, c := range res.Campaigns {
		if !c.Detected {
			t.Errorf("campaign %s not detected\n%s", c.Name, stdout.String())
			continue
		}
		if len(c.Found) < (len(c.Targets)+1)/2 {
			t.Errorf("campaign %s: alerts name %v, want most of %v", c.Name, c.Found, c.Targets)
		}
		if lat := c.FirstAlert.Sub(c.Start); lat > 2*time.Hour {
			t.Errorf("campaign %s detected only %s after it began", c.Name, lat)
		}
	}
	for _, p := range res.Popular {
		if len(p.Flagged) > 0 {
			t.Errorf("popular post on %s flagged: %v", p.Target, p.Flagged)
		}
	}
	out := stdout.String()
	if !strings.Contains(out, "=== demo summary") {
		t.Fatalf("no summary printed:\n%s", out)
	}
}
