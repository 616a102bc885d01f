package rules

import (
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

func TestLifecycle(t *testing.T) {
	var fs []Finding
	e := mustEngine(t, []Rule{scriptedRule("scripted", &fs, 30*time.Minute)}, EngineOptions{Env: Env{Targets: map[string]model.Target{
		"mp-a": {ID: "mp-a", Team: "ontario", Tags: []string{"cabinet"}},
	}}})
	f := func(size float64) []Finding {
		return []Finding{{Scope: "target:mp-a", WindowStart: t0, WindowEnd: t0.Add(time.Hour), Size: size,
			Summary: "spike", Targets: []string{"mp-a"}, Platforms: []model.Platform{model.Mastodon}}}
	}
	steps := []struct {
		name     string
		at       time.Duration
		findings []Finding
		want     string
	}{
		{"new key fires", 0, f(10), "firing#1"},
		{"same now is idempotent", 0, f(10), ""},
		{"unchanged", 5 * time.Minute, f(10), ""},
		{"grew 40% is not material", 10 * time.Minute, f(14), ""},
		{"grew 50% updates", 15 * time.Minute, f(15), "updated#2"},
		{"smaller does not update", 20 * time.Minute, f(12), ""},
		{"absent less than resolve_after", 45 * time.Minute, nil, ""},
		{"back again keeps it open", 50 * time.Minute, f(15), ""},
		{"absent 25m", 75 * time.Minute, nil, ""},
		{"absent 30m resolves", 80 * time.Minute, nil, "resolved#3"},
		{"resolve only once", 85 * time.Minute, nil, ""},
		{"same key never re-fires", 90 * time.Minute, f(100), ""},
	}
	key := AlertKey("scripted", "target:mp-a", t0)
	for _, s := range steps {
		fs = s.findings
		got := eval(t, e, t0.Add(s.at))
		if statuses(got) != s.want {
			t.Fatalf("%s: events %q, want %q", s.name, statuses(got), s.want)
		}
		for _, a := range got {
			if a.Key != key || a.Audience != model.AudienceComms || a.Rule != "scripted" || a.Severity != model.SeverityHigh {
				t.Errorf("%s: event %+v", s.name, a)
			}
			if len(a.Teams) != 1 || a.Teams[0] != "ontario" || len(a.Tags) != 1 || a.Tags[0] != "cabinet" {
				t.Errorf("%s: teams %v tags %v from the watchlist", s.name, a.Teams, a.Tags)
			}
			if !a.FiredAt.Equal(t0.Add(s.at)) {
				t.Errorf("%s: fired_at %s", s.name, a.FiredAt)
			}
		}
	}
	// a later window is a new alert
	fs = []Finding{{Scope: "target:mp-a", WindowStart: t0.Add(3 * time.Hour), Size: 1}}
	if got := eval(t, e, t0.Add(3*time.Hour)); statuses(got) != "firing#1" || got[0].Key == key {
		t.Fatalf("new window: %v", got)
	}
}

// An open alert is updated when its severity rises, even without material
// growth, and keeps its highest severity when the finding falls back.
func TestLifecycleSeverityRise(t *testing.T) {
	var fs []Finding
	e := mustEngine(t, []Rule{scriptedRule("scripted", &fs, 30*time.Minute)}, EngineOptions{})
	f := func(size float64, sev model.Severity) []Finding {
		return []Finding{{Scope: "target:mp-a", WindowStart: t0, Size: size, Severity: sev, Summary: "s"}}
	}
	steps := []struct {
		at   time.Duration
		fs   []Finding
		want string
		sev  model.Severity
	}{
		{0, f(10, model.SeverityInfo), "firing#1", model.SeverityInfo},
		{5 * time.Minute, f(11, ""), "updated#2", model.SeverityHigh}, // the rule's own severity
		{10 * time.Minute, f(11, model.SeverityInfo), "", ""},
		{15 * time.Minute, f(20, model.SeverityInfo), "updated#3", model.SeverityHigh}, // grew; stays high
		{20 * time.Minute, f(21, model.SeverityCritical), "updated#4", model.SeverityCritical},
	}
	for _, s := range steps {
		fs = s.fs
		got := eval(t, e, t0.Add(s.at))
		if statuses(got) != s.want || len(got) > 0 && got[0].Severity != s.sev {
			t.Fatalf("at %s: events %q %v, want %q at %s", s.at, statuses(got), got, s.want, s.sev)
		}
	}
}

func TestAlertKeyStable(t *testing.T) {
	a := AlertKey("r", "target:x", t0)
	if len(a) != 16 || a != AlertKey("r", "target:x", t0.In(time.FixedZone("EST", -5*3600))) {
		t.Fatalf("key %q not stable across zones", a)
	}
	for _, other := range []string{AlertKey("r2", "target:x", t0), AlertKey("r", "target:y", t0), AlertKey("r", "target:x", t0.Add(time.Hour))} {
		if other == a {
			t.Fatalf("distinct inputs share key %s", a)
		}
	}
}

func TestScopeRouting(t *testing.T) {
	rs := mustParse(t, `
rules:
  - name: cabinet-only
    type: spike
    threshold_cur: 5
    threshold_ref: 1
    spike_height: 2
    z_alert: 1
    poisson_p: 0.5
    baseline: {window_days: 14, min_history_buckets: 336, recent_buckets: 24, min_recent_buckets: 1}
    scope: {tags: [cabinet], platforms: [bluesky]}
`)
	env := Env{Targets: map[string]model.Target{"mp-a": {ID: "mp-a", Tags: []string{"cabinet"}}, "mp-b": {ID: "mp-b"}}}
	e := mustEngine(t, rs, EngineOptions{Env: env})
	var in []model.Reply
	for i := 0; i < 10; i++ {
		at := t0.Add(2*time.Hour + time.Duration(i)*time.Minute)
		in = append(in, reply("mp-b", model.Bluesky, "x", "p", at))  // not cabinet
		in = append(in, reply("mp-a", model.Mastodon, "y", "p", at)) // not bluesky
	}
	in = append(in, reply("mp-a", model.Bluesky, "z", "p", t0))
	e.Ingest(in...)
	if got := eval(t, e, t0.Add(2*time.Hour+30*time.Minute)); len(got) != 0 {
		t.Fatalf("out-of-scope replies fired: %v", got)
	}
	var hit []model.Reply
	for i := 0; i < 10; i++ {
		hit = append(hit, reply("mp-a", model.Bluesky, "w", "p", t0.Add(2*time.Hour+time.Duration(i)*time.Minute)))
	}
	e.Ingest(hit...)
	if got := eval(t, e, t0.Add(2*time.Hour+31*time.Minute)); statuses(got) != "firing#1" || got[0].Targets[0] != "mp-a" {
		t.Fatalf("in-scope replies: %v", got)
	}
}
