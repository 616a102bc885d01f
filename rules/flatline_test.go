package rules

import (
	"context"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

const flatYAML = `
rules:
  - name: flat
    type: flatline
    quiet_for: 24h
    min_daily_replies: 5
    baseline_days: 7
    max_failures: 6
    resolve_after: 10m
`

type healthList []model.SourceHealth

func (h *healthList) ListSourceHealth(context.Context) ([]model.SourceHealth, error) { return *h, nil }

func TestFlatline(t *testing.T) {
	hs := &healthList{}
	e := mustEngine(t, mustParse(t, flatYAML), EngineOptions{Health: hs})
	// mp-a: 20 replies a day for 3 days; mp-b: 2 a day (too quiet to tell)
	e.Ingest(hourly("mp-a", 1, 72, t0, 1)...)
	for d := 0; d < 3; d++ {
		e.Ingest(spread("mp-b", "p", 2, t0.Add(time.Duration(d)*24*time.Hour), time.Hour, "b")...)
	}
	last := t0.Add(71*time.Hour + 0*time.Minute)
	steps := []struct {
		name string
		at   time.Time
		do   func()
		want string
	}{
		{"quiet 23h is fine", last.Add(23 * time.Hour), nil, ""},
		{"quiet 24h fires", last.Add(24 * time.Hour), nil, "firing#1"},
		{"still quiet: no repeat", last.Add(30 * time.Hour), nil, ""},
		{"still quiet", last.Add(30*time.Hour + 55*time.Minute), nil, ""},
		{"replies come back", last.Add(31 * time.Hour), func() {
			e.Ingest(reply("mp-a", model.Mastodon, "back", "p", last.Add(31*time.Hour)))
		}, ""},
		{"resolved after 10m", last.Add(31*time.Hour + 10*time.Minute), nil, "resolved#2"},
		{"failing crawls fire", last.Add(32 * time.Hour), func() {
			*hs = healthList{{SourceKey: "mp-c/bluesky:c.bsky.social", Target: "mp-c", Platform: model.Bluesky,
				ConsecutiveFailures: 6, LastSuccess: t0, LastError: "HTTP 401: token expired"}}
		}, "firing#1"},
		{"a good crawl resolves", last.Add(32*time.Hour + 20*time.Minute), func() {
			(*hs)[0].ConsecutiveFailures = 0
		}, "resolved#2"},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		got := eval(t, e, s.at)
		if statuses(got) != s.want {
			t.Fatalf("%s: %q, want %q (%v)", s.name, statuses(got), s.want, summaries(got))
		}
		for _, a := range got {
			if a.Audience != model.AudienceOps {
				t.Errorf("%s: audience %s, flatline is for administrators", s.name, a.Audience)
			}
		}
	}
}

func TestFlatlineWithoutHealth(t *testing.T) {
	e := mustEngine(t, mustParse(t, flatYAML), EngineOptions{})
	e.Ingest(hourly("mp-a", 1, 72, t0, 1)...)
	got := eval(t, e, t0.Add(96*time.Hour))
	if statuses(got) != "firing#1" || got[0].Targets[0] != "mp-a" || got[0].Metrics["daily_baseline"] != 24.338 {
		t.Fatalf("%v %v", statuses(got), got)
	}
}
