package scenario

import (
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// DemoTargets are the fictional MPs of the demo.
func DemoTargets() []Target {
	return []Target{
		{ID: "mp-anne-tremblay", Name: "Anne Tremblay", Platform: model.Mastodon, Handle: "@annetremblay@parl.social",
			Lang: map[string]float64{"en": 0.95, "fr": 0.05}, RepliesPerHour: 10},
		{ID: "mp-david-chen", Name: "David Chen", Platform: model.Bluesky, Handle: "davidchen.bsky.social",
			Lang: map[string]float64{"en": 0.8, "zh": 0.2}, RepliesPerHour: 12},
		{ID: "mp-sarah-macdonald", Name: "Sarah MacDonald", Platform: model.Mastodon, Handle: "@smacdonald@parl.social",
			Lang: map[string]float64{"en": 1}, RepliesPerHour: 8},
		{ID: "mp-pierre-gagnon", Name: "Pierre Gagnon", Platform: model.Bluesky, Handle: "pgagnon.bsky.social",
			Lang: map[string]float64{"en": 0.95, "fr": 0.05}, RepliesPerHour: 9},
		{ID: "mp-priya-singh", Name: "Priya Singh", Platform: model.Mastodon, Handle: "@priyasingh@parl.social",
			Lang: map[string]float64{"en": 1}, RepliesPerHour: 14},
		{ID: "mp-michael-wong", Name: "Michael Wong", Platform: model.Bluesky, Handle: "mwong.bsky.social",
			Lang: map[string]float64{"en": 0.6, "zh": 0.4}, RepliesPerHour: 7},
	}
}

// DemoConfig is the demo's day of a 2023-style attack, starting at start,
// with history days of ordinary traffic before it (so volume baselines exist):
// a bilingual accusation campaign by 60 new accounts across four MPs in three
// waves, a Chinese-language push on one MP, and a popular post on another MP
// that draws a crowd of ordinary replies (which must not be reported).
func DemoConfig(start time.Time, history time.Duration) Config {
	day := start
	return Config{
		Seed:      2023,
		Start:     start.Add(-history),
		Duration:  history + 24*time.Hour,
		Targets:   DemoTargets(),
		PostEvery: 8 * time.Hour,
		Campaigns: []Campaign{
			{Name: "spamouflage-accusation", Langs: []string{"en", "fr"}, Accounts: 60,
				Targets: []string{"mp-anne-tremblay", "mp-david-chen", "mp-sarah-macdonald", "mp-pierre-gagnon"},
				Start:   day.Add(2 * time.Hour), Span: 14 * time.Hour, Waves: 3, PerAccount: 2,
				Paraphrase: true, Obfuscate: true, Narrative: 0},
			{Name: "wechat-style-push", Langs: []string{"zh"}, Accounts: 25,
				Targets: []string{"mp-michael-wong"},
				Start:   day.Add(5 * time.Hour), Span: 6 * time.Hour, Waves: 2, PerAccount: 1,
				Paraphrase: true, Obfuscate: true, Narrative: 1},
		},
		Popular: []Popular{{Target: "mp-priya-singh", At: day.Add(15 * time.Hour), Replies: 260, Over: 3 * time.Hour}},
	}
}
