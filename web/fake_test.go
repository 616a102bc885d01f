package web

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Hostile strings as they arrive from the internet. Pages must show them as
// text and never let them become markup.
const (
	hostileScript = `<script>alert(1)</script>`
	hostileImg    = `<img src=x onerror=alert(2)>`
	hostileSVG    = `"><svg onload=alert(3)>`
	hostileURL    = `javascript:alert(4)`
)

var fixedNow = time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)

// fakeData is an in-memory DataSource with the semantics the interface
// documents (filtering by range, bucketing, latest event per key).
type fakeData struct {
	targets []model.Target
	health  []model.SourceHealth
	hourly  []VolumePoint // one point per (target, platform, hour)
	events  []model.Alert // all events of all keys, any order
	replies []model.Reply
	err     error // returned by every method when set
}

func (f *fakeData) Targets(ctx context.Context) ([]model.Target, error) { return f.targets, f.err }

func (f *fakeData) SourceHealth(ctx context.Context) ([]model.SourceHealth, error) {
	return f.health, f.err
}

func (f *fakeData) Volume(ctx context.Context, from, to time.Time, bucket time.Duration) ([]VolumePoint, error) {
	if f.err != nil {
		return nil, f.err
	}
	type k struct {
		t string
		p model.Platform
		s time.Time
	}
	sum := map[k]int{}
	for _, p := range f.hourly {
		if p.Start.Before(from) || !p.Start.Before(to) {
			continue
		}
		sum[k{p.Target, p.Platform, p.Start.Truncate(bucket)}] += p.Count
	}
	var out []VolumePoint
	for key, n := range sum {
		out = append(out, VolumePoint{Target: key.t, Platform: key.p, Start: key.s, Count: n})
	}
	return out, nil
}

func (f *fakeData) RecentAlerts(ctx context.Context, limit int) ([]model.Alert, error) {
	if f.err != nil {
		return nil, f.err
	}
	latest := map[string]model.Alert{}
	for _, a := range f.events {
		if cur, ok := latest[a.Key]; !ok || a.Seq > cur.Seq {
			latest[a.Key] = a
		}
	}
	var out []model.Alert
	for _, a := range latest {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FiredAt.After(out[j].FiredAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakeData) AlertEvents(ctx context.Context, key string) ([]model.Alert, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []model.Alert
	for _, a := range f.events {
		if a.Key == key {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

func (f *fakeData) Replies(ctx context.Context, keys []string) ([]model.Reply, error) {
	if f.err != nil {
		return nil, f.err
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var out []model.Reply
	for _, r := range f.replies {
		if want[r.Key()] {
			out = append(out, r)
		}
	}
	return out, nil
}

var errDB = errors.New("sqlite: database is locked at /var/lib/mpwatch/secret-path.db")

const spikeKey = "spike-jane/jane/2026-11-20T12:00Z"

// fixture is a small but complete world: two targets (one with a hostile
// name), sources in every health state, a week of volume with a spike, an
// alert with two events whose evidence is full of hostile text.
func fixture() *fakeData {
	jane := model.Target{ID: "jane", Name: "Jane Doe", Party: "Independent", Riding: "Ottawa Centre", Team: "east",
		Accounts: []model.Account{
			{Platform: model.Mastodon, Handle: "@jane@example.social"},
			{Platform: model.Bluesky, Handle: "jane.bsky.social"},
			{Platform: model.RSS, URL: "https://news.example.org/feed.xml"},
			{Platform: model.HTML, URL: "https://example.org/forum/jane"},
		}}
	bob := model.Target{ID: "bob", Name: hostileScript + " Bob", Accounts: []model.Account{
		{Platform: model.Mastodon, Handle: "@bob@example.social"},
	}}
	f := &fakeData{targets: []model.Target{jane, bob}}
	f.health = []model.SourceHealth{
		{SourceKey: model.SourceKey("jane", jane.Accounts[0]), Target: "jane", Platform: model.Mastodon,
			LastAttempt: fixedNow.Add(-4 * time.Minute), LastSuccess: fixedNow.Add(-4 * time.Minute), NextCheck: fixedNow.Add(time.Minute)},
		{SourceKey: model.SourceKey("jane", jane.Accounts[1]), Target: "jane", Platform: model.Bluesky,
			LastAttempt: fixedNow.Add(-10 * time.Minute), LastSuccess: fixedNow.Add(-3 * time.Hour), ConsecutiveFailures: 3,
			LastError: "HTTP 502 " + hostileImg},
		{SourceKey: model.SourceKey("jane", jane.Accounts[2]), Target: "jane", Platform: model.RSS,
			LastAttempt: fixedNow.Add(-2 * time.Hour), LastSuccess: fixedNow.Add(-2 * time.Hour), NextCheck: fixedNow.Add(-90 * time.Minute)},
		// A source of a target removed from the watchlist.
		{SourceKey: "gone/mastodon:@gone@example.social", Target: "gone", Platform: model.Mastodon, LastSuccess: fixedNow.Add(-24 * time.Hour)},
	}
	// A week of low background for jane, a spike 12:00-15:00 on the last day.
	start := fixedNow.Truncate(time.Hour).Add(-7 * 24 * time.Hour)
	for t := start; t.Before(fixedNow); t = t.Add(time.Hour) {
		n := 2 + t.Hour()%3
		if !t.Before(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)) {
			n = 40
		}
		f.hourly = append(f.hourly,
			VolumePoint{Target: "jane", Platform: model.Mastodon, Start: t, Count: n},
			VolumePoint{Target: "jane", Platform: model.Bluesky, Start: t, Count: 1})
	}
	f.hourly = append(f.hourly, VolumePoint{Target: "bob", Platform: model.Mastodon, Start: fixedNow.Add(-30 * time.Hour), Count: 5})

	created := func(min int) time.Time { return time.Date(2026, 11, 20, 12, min, 0, 0, time.UTC) }
	f.replies = []model.Reply{
		{Platform: model.Mastodon, ID: "111", URL: "https://example.social/@troll1/111", Target: "jane",
			CreatedAt: created(5), Text: "You are a disgrace " + hostileScript, Lang: "en",
			Author: model.Author{ID: "a1", Handle: "@troll1@example.social", Name: hostileImg, URL: "https://example.social/@troll1"}},
		{Platform: model.Mastodon, ID: "112", URL: hostileURL, Target: "jane",
			CreatedAt: created(7), Text: "=HYPERLINK(\"http://evil.example\",\"click\")",
			Author: model.Author{ID: "a2", Handle: "@troll2@example.social", Name: "Troll, \"Two\"", URL: hostileURL}},
		{Platform: model.Bluesky, ID: "at://did:plc:xyz/app.bsky.feed.post/3k", URL: "https://bsky.app/profile/x/post/3k", Target: "jane",
			CreatedAt: created(9), Text: "line one\nline two " + hostileSVG,
			Author: model.Author{ID: "did:plc:xyz", Handle: "troll3.bsky.social"}},
	}
	firing := model.Alert{
		Key: spikeKey, Seq: 1, Rule: "spike-jane", Type: "spike", Severity: model.SeverityHigh, Status: model.StatusFiring,
		Audience: model.AudienceComms, Targets: []string{"jane"}, Platforms: []model.Platform{model.Mastodon},
		WindowStart: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC),
		FiredAt: time.Date(2026, 11, 20, 13, 1, 0, 0, time.UTC), Summary: "Reply spike on Jane Doe " + hostileSVG,
		Metrics:  map[string]float64{"count": 40, "baseline": 3.2},
		ReplyIDs: []string{"mastodon:111", "mastodon:112"},
		Evidence: model.Evidence{Reason: "40 replies in 1h against a baseline of 3.2 " + hostileScript, Count: 40, Baseline: 3.2, Ratio: 12.5, Z: 8.75},
	}
	updated := firing
	updated.Seq, updated.Status, updated.Severity = 2, model.StatusUpdated, model.SeverityCritical
	updated.FiredAt = time.Date(2026, 11, 20, 14, 1, 0, 0, time.UTC)
	updated.WindowEnd = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	updated.Metrics = map[string]float64{"count": 80, "baseline": 3.2}
	updated.ReplyIDs = []string{"mastodon:111", "mastodon:112", "bluesky:at://did:plc:xyz/app.bsky.feed.post/3k", "mastodon:999"}
	updated.Evidence.Representative = "Resign now " + hostileImg
	updated.Accounts = []string{"@troll1@example.social", "@troll2@example.social", "troll3.bsky.social " + hostileSVG}
	updated.Teams, updated.Tags = []string{"east"}, []string{"ontario", hostileScript}
	updated.Evidence.Posts = []string{"https://example.social/@jane/100", hostileURL}
	updated.Evidence.Samples = []model.Sample{{ReplyKey: "mastodon:150", Platform: model.Mastodon, Target: "jane",
		Author: "@purged@example.social", Text: "sample kept in the alert", CreatedAt: created(20)}}
	updated.Evidence.Signals = &model.AccountSignals{Accounts: 3, NewAccountShare: 0.67, DigitHandleShare: 0.33,
		LowFollowerShare: 1, DefaultAvatarShare: 0.33, OfficeHoursZone: "Europe/Moscow", OfficeHoursShare: 0.9, Score: 0.71}
	ops := model.Alert{Key: "flatline-bob/bob", Seq: 1, Rule: "flatline", Type: "flatline", Severity: model.SeverityWarning,
		Status: model.StatusFiring, Audience: model.AudienceOps, Targets: []string{"bob"},
		FiredAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Summary: "No replies from bob " + hostileImg}
	f.events = []model.Alert{updated, ops, firing}
	return f
}
