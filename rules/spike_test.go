package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

const spikeYAML = `
rules:
  - name: spike
    type: spike
    timeframe: 1h
    threshold_cur: 30
    threshold_ref: 2
    spike_height: 3
    z_alert: 6
    poisson_p: 1.0e-4
    baseline: {window_days: 28, min_history_buckets: 336, recent_buckets: 72, min_recent_buckets: 24}
    per_post: {first_hours: 2, ratio_vs_p90: 3, min_posts: 5}
    resolve_after: 3h
`

// hourly makes perHour replies in every hour of [from, from+hours), on a new
// post every postEvery hours.
func hourly(target string, perHour, hours int, from time.Time, postEvery int) []model.Reply {
	var out []model.Reply
	for h := 0; h < hours; h++ {
		post := "p" + itoa(h/postEvery)
		out = append(out, spread(target, post, perHour, from.Add(time.Duration(h)*time.Hour), time.Hour, "u"+itoa(h)+"-")...)
	}
	return out
}

// posty is an account that posts every 6 hours: 20 replies in a post's
// first hour, then 5 an hour.
func posty(target string, hours int, from time.Time) []model.Reply {
	var out []model.Reply
	for h := 0; h < hours; h++ {
		n := 5
		if h%6 == 0 {
			n = 20
		}
		out = append(out, spread(target, "p"+itoa(h/6), n, from.Add(time.Duration(h)*time.Hour), time.Hour, "u"+itoa(h)+"-")...)
	}
	return out
}

func TestSpike(t *testing.T) {
	type step struct {
		at   time.Time
		want string // statuses
	}
	cases := []struct {
		name   string
		input  func() []model.Reply
		checks []step
		verify func(t *testing.T, as []model.Alert)
	}{
		{
			name: "recent baseline fires on a burst after a day of history",
			input: func() []model.Reply {
				in := hourly("mp-a", 5, 48, t0, 1)
				return append(in, spread("mp-a", "attack", 80, t0.Add(48*time.Hour), 30*time.Minute, "bot")...)
			},
			checks: []step{{t0.Add(47*time.Hour + 55*time.Minute), ""}, {t0.Add(48*time.Hour + 35*time.Minute), "firing#1"}},
			verify: func(t *testing.T, as []model.Alert) {
				a := as[0]
				if a.Metrics["count"] != 80 || a.Metrics["baseline"] != 5 || !strings.Contains(a.Summary, "recent baseline") {
					t.Errorf("metrics %v summary %q", a.Metrics, a.Summary)
				}
				if len(a.ReplyIDs) != 80 || len(a.Accounts) != 80 || a.Evidence.Z < 6 || a.Evidence.Ratio != 16 {
					t.Errorf("evidence: %d ids, %d accounts, %+v", len(a.ReplyIDs), len(a.Accounts), a.Evidence)
				}
				if !a.WindowStart.Equal(t0.Add(48*time.Hour)) || !a.WindowEnd.Equal(t0.Add(49*time.Hour)) {
					t.Errorf("window %s..%s", a.WindowStart, a.WindowEnd)
				}
				if len(a.Evidence.Samples) == 0 || a.Evidence.Samples[0].ReplyKey == "" {
					t.Errorf("no samples")
				}
			},
		},
		{
			name:   "quiet during the first day: no baseline yet",
			input:  func() []model.Reply { return spread("mp-a", "p", 200, t0.Add(2*time.Hour), time.Hour, "x") },
			checks: []step{{t0.Add(2*time.Hour + 59*time.Minute), ""}, {t0.Add(3 * time.Hour), ""}},
		},
		{
			name: "0 vs 0 and a handful against nothing stay quiet",
			input: func() []model.Reply {
				in := []model.Reply{reply("mp-a", model.Mastodon, "a", "p", t0)}
				return append(in, spread("mp-a", "p", 12, t0.Add(40*time.Hour), 10*time.Minute, "y")...)
			},
			checks: []step{{t0.Add(30 * time.Hour), ""}, {t0.Add(40*time.Hour + 20*time.Minute), ""}},
		},
		{
			name: "a quiet MP gets a real attack",
			input: func() []model.Reply {
				in := []model.Reply{reply("mp-a", model.Mastodon, "a", "p", t0)}
				return append(in, spread("mp-a", "p", 40, t0.Add(40*time.Hour), 20*time.Minute, "y")...)
			},
			checks: []step{{t0.Add(40*time.Hour + 25*time.Minute), "firing#1"}},
		},
		{
			name: "seasonal baseline: the usual Monday 9:00 rush is normal, the same count at 3:00 is not",
			input: func() []model.Reply {
				var in []model.Reply
				for w := 0; w < 3; w++ {
					for h := 0; h < 168; h++ {
						n := 5
						if h == 9 {
							n = 80 // every Monday 09:00, question period
						}
						in = append(in, spread("mp-a", "p"+itoa(w*168+h), n, t0.Add(time.Duration(w*168+h)*time.Hour), time.Hour, "s")...)
					}
				}
				wk := t0.Add(3 * 7 * 24 * time.Hour)
				in = append(in, hourly("mp-a", 5, 9, wk, 1)...)
				in = append(in, spread("mp-a", "q", 90, wk.Add(9*time.Hour), 50*time.Minute, "m")...)
				in = append(in, hourly("mp-a", 5, 17, wk.Add(10*time.Hour), 1)...)
				in = append(in, spread("mp-a", "r", 90, wk.Add(27*time.Hour), 50*time.Minute, "n")...)
				return in
			},
			checks: []step{
				{t0.Add(3*7*24*time.Hour + 9*time.Hour + 55*time.Minute), ""},
				{t0.Add(3*7*24*time.Hour + 27*time.Hour + 55*time.Minute), "firing#1"},
			},
			verify: func(t *testing.T, as []model.Alert) {
				if !strings.Contains(as[0].Summary, "seasonal baseline") || as[0].Metrics["baseline"] != 5 {
					t.Errorf("summary %q metrics %v", as[0].Summary, as[0].Metrics)
				}
			},
		},
		{
			name: "sustained spike: one alert, updated as it grows, resolved after the quiet period",
			input: func() []model.Reply {
				in := hourly("mp-a", 5, 48, t0, 1)
				for h := 48; h < 51; h++ {
					in = append(in, spread("mp-a", "x"+itoa(h), 100, t0.Add(time.Duration(h)*time.Hour), time.Hour, "b"+itoa(h)+"-")...)
				}
				return append(in, hourly("mp-a", 5, 10, t0.Add(51*time.Hour), 1)...)
			},
			checks: []step{
				{t0.Add(48*time.Hour + 30*time.Minute), "firing#1"},
				{t0.Add(48*time.Hour + 59*time.Minute), "updated#2"}, // 50 → 98: +96 %
				{t0.Add(49*time.Hour + 59*time.Minute), "updated#3"}, // 98 → 198
				{t0.Add(50*time.Hour + 30*time.Minute), ""},          // 198 → 248: +25 %
				{t0.Add(50*time.Hour + 59*time.Minute), "updated#4"}, // 298: +50 % over 198
				{t0.Add(53*time.Hour + 30*time.Minute), ""},
				{t0.Add(53*time.Hour + 59*time.Minute), "resolved#5"},
				{t0.Add(55 * time.Hour), ""},
			},
			verify: func(t *testing.T, as []model.Alert) {
				for _, a := range as {
					if a.Key != as[0].Key || !a.WindowStart.Equal(t0.Add(48*time.Hour)) {
						t.Errorf("event %s#%d window %s: a sustained spike must keep one key", a.Key, a.Seq, a.WindowStart)
					}
				}
			},
		},
		{
			name: "an hour's last minutes are tested once the hour has ended",
			input: func() []model.Reply {
				in := hourly("mp-a", 5, 48, t0, 1)
				return append(in, spread("mp-a", "attack", 80, t0.Add(48*time.Hour+56*time.Minute), 4*time.Minute, "bot")...)
			},
			checks: []step{{t0.Add(48*time.Hour + 55*time.Minute), ""}, {t0.Add(49 * time.Hour), "firing#1"}, {t0.Add(49*time.Hour + 5*time.Minute), ""}},
			verify: func(t *testing.T, as []model.Alert) {
				if a := as[0]; a.Metrics["count"] != 80 || !a.WindowStart.Equal(t0.Add(48*time.Hour)) || !a.WindowEnd.Equal(t0.Add(49*time.Hour)) {
					t.Errorf("count %v, window %s..%s", a.Metrics["count"], a.WindowStart, a.WindowEnd)
				}
			},
		},
		{
			name: "evaluations an hour apart still see each hour whole",
			input: func() []model.Reply {
				in := hourly("mp-a", 5, 48, t0, 1)
				return append(in, spread("mp-a", "attack", 80, t0.Add(48*time.Hour), time.Hour, "bot")...)
			},
			checks: []step{{t0.Add(47 * time.Hour), ""}, {t0.Add(48 * time.Hour), ""}, {t0.Add(49 * time.Hour), "firing#1"}, {t0.Add(50 * time.Hour), ""}},
		},
		{
			name: "a popular post within the account's usual range is not an attack",
			input: func() []model.Reply {
				in := posty("mp-a", 60, t0) // a post every 6h: 25 replies in its first 2h
				return append(in, spread("mp-a", "viral", 75, t0.Add(60*time.Hour), time.Hour, "fan")...)
			},
			checks: []step{{t0.Add(60*time.Hour + 59*time.Minute), ""}},
		},
		{
			name: "an attack on one post far beyond the account's range still fires",
			input: func() []model.Reply {
				in := posty("mp-a", 60, t0)
				return append(in, spread("mp-a", "target", 400, t0.Add(60*time.Hour), time.Hour, "bot")...)
			},
			checks: []step{{t0.Add(60*time.Hour + 59*time.Minute), "firing#1"}},
			verify: func(t *testing.T, as []model.Alert) {
				if len(as[0].Evidence.Posts) == 0 || as[0].Evidence.Posts[0] != "mastodon:target" {
					t.Errorf("top posts %v", as[0].Evidence.Posts)
				}
			},
		},
		{
			name: "a popular post plus broad traffic is still a spike",
			input: func() []model.Reply {
				in := posty("mp-a", 60, t0)
				in = append(in, spread("mp-a", "viral", 75, t0.Add(60*time.Hour), time.Hour, "fan")...)
				for i := 0; i < 60; i++ {
					in = append(in, reply("mp-a", model.Mastodon, "o"+itoa(i), "old"+itoa(i), t0.Add(60*time.Hour+time.Duration(i)*time.Minute)))
				}
				return in
			},
			checks: []step{{t0.Add(60*time.Hour + 59*time.Minute), "firing#1"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, mustParse(t, spikeYAML), EngineOptions{})
			in := c.input()
			sortReplies(in)
			var all []model.Alert
			i := 0
			for _, s := range c.checks {
				j := i
				for j < len(in) && !in[j].CreatedAt.After(s.at) {
					j++
				}
				// evaluate every 5 minutes up to the check, as the daemon does
				for ; i < j; i++ {
					e.Ingest(in[i])
				}
				got := eval(t, e, s.at)
				if statuses(got) != s.want {
					t.Fatalf("at %s: events %q, want %q (%v)", s.at.Format(time.RFC3339), statuses(got), s.want, summaries(got))
				}
				all = append(all, got...)
			}
			if c.verify != nil {
				c.verify(t, all)
			}
		})
	}
}

func sortReplies(in []model.Reply) {
	for i := 1; i < len(in); i++ {
		for j := i; j > 0 && in[j].CreatedAt.Before(in[j-1].CreatedAt); j-- {
			in[j], in[j-1] = in[j-1], in[j]
		}
	}
}

func summaries(as []model.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Summary)
	}
	return out
}

func TestPoissonTail(t *testing.T) {
	cases := []struct {
		x      int
		lambda float64
		lo, hi float64
	}{
		{0, 3, 1, 1},
		{3, 5, 1, 1},                // below the mean: not a tail
		{10, 5, 0.0318, 0.0319},     // 1 - CDF(9; 5) = 0.03183
		{30, 5, 2.81e-14, 2.82e-14}, // 2.8175e-14 by direct sum
		{1, 0.1, 0.0951, 0.0952},    // 1 - e^-0.1
		{5000, 1, 0, 1e-300},
	}
	for _, c := range cases {
		if p := poissonTail(c.x, c.lambda); p < c.lo || p > c.hi {
			t.Errorf("P(X>=%d | %g) = %g, want in [%g, %g]", c.x, c.lambda, p, c.lo, c.hi)
		}
	}
}

// TestSpikeAllTargetsPopularPost: across all targets, one MP's popular post
// is not a campaign either.
func TestSpikeAllTargetsPopularPost(t *testing.T) {
	rs := mustParse(t, `
rules:
  - name: all
    type: spike
    group_by: []
    threshold_cur: 40
    threshold_ref: 5
    spike_height: 2
    poisson_p: 1.0e-6
    per_post: {first_hours: 2, ratio_vs_p90: 3}
`)
	for _, c := range []struct {
		extra int
		want  string
	}{{75, ""}, {400, "firing#1"}} {
		e := mustEngine(t, rs, EngineOptions{})
		in := posty("mp-a", 60, t0)
		in = append(in, hourly("mp-b", 3, 60, t0, 6)...)
		in = append(in, spread("mp-a", "viral", c.extra, t0.Add(60*time.Hour), time.Hour, "fan")...)
		sortReplies(in)
		e.Ingest(in...)
		if got := eval(t, e, t0.Add(60*time.Hour+59*time.Minute)); statuses(got) != c.want {
			t.Errorf("%d replies on one post: %q, want %q (%v)", c.extra, statuses(got), c.want, summaries(got))
		}
	}
}

// TestSpikeViralPostCrowd: a post far beyond anything the account drew before
// is told from a flood by who replies and what they write (per_post.organic).
func TestSpikeViralPostCrowd(t *testing.T) {
	const y = `
rules:
  - name: spike
    type: spike
    threshold_cur: 30
    threshold_ref: 2
    per_post:
      first_hours: 2
      ratio_vs_p90: 3
      min_posts: 5
      organic: {min_known_share: 0.5, max_new_share: 0.5, max_digit_share: 0.5, max_copy_share: 0.5}
`
	at := t0.Add(60 * time.Hour)
	old := at.AddDate(-4, 0, 0)
	young := at.AddDate(0, 0, -20)
	texts := []string{
		"Congratulations on the new wing, my mother was treated there last year",
		"Finally some good news for the riding, thank you for pushing this through",
		"Will the new wing have more beds for long term care patients as well?",
		"Great to see the hospital expanding, the waiting room was always packed",
		"Thank you to all the nurses and doctors who kept the old wing running",
	}
	// crowd makes n replies on one post within the hour; author(i) and text(i)
	// say who writes what.
	crowd := func(n int, author func(i int) model.Author, text func(i int) string) []model.Reply {
		out := spread("mp-a", "viral", n, at, time.Hour, "x")
		for i := range out {
			out[i].Author = author(i)
			out[i].Text = text(i)
		}
		return out
	}
	aged := func(created time.Time, handle func(i int) string) func(int) model.Author {
		return func(i int) model.Author {
			c := created
			return model.Author{ID: "a" + itoa(i), Handle: handle(i), CreatedAt: &c, Followers: 300}
		}
	}
	plainHandle := func(i int) string { return "fan_ott" + itoa(i%90) + "." + itoa(i) }
	digitHandle := func(i int) string { return "chloe" + fmt.Sprintf("%08d", 31415926+i) }
	diverse := func(i int) string { return texts[i%len(texts)] + " (" + itoa(i) + " from the riding)" }
	paste := func(int) string {
		return "A well-known critic has accused this MP of serious crimes. Why is the media silent?"
	}
	cases := []struct {
		name string
		in   []model.Reply
		want string
	}{
		{"400 replies by old accounts with their own words: a viral post", crowd(400, aged(old, plainHandle), diverse), ""},
		{"the same volume by new digit-suffixed accounts: an attack", crowd(400, aged(young, digitHandle), diverse), "firing#1"},
		{"new accounts with ordinary handles: still new", crowd(400, aged(young, plainHandle), diverse), "firing#1"},
		{"old accounts with digit handles: auto-generated names", crowd(400, aged(old, digitHandle), diverse), "firing#1"},
		{"old accounts pasting one text: hijacked accounts", crowd(400, aged(old, plainHandle), paste), "firing#1"},
		{"ages unknown: nothing vouches for the crowd", crowd(400, func(i int) model.Author {
			return model.Author{ID: "a" + itoa(i), Handle: plainHandle(i)}
		}, diverse), "firing#1"},
		{"a third of new accounts in an old crowd: still a crowd", crowd(400, func(i int) model.Author {
			if i%3 == 0 {
				return aged(young, digitHandle)(i)
			}
			return aged(old, plainHandle)(i)
		}, diverse), ""},
		{"three new accounts in five: the network is the crowd", crowd(400, func(i int) model.Author {
			if i%5 < 3 {
				return aged(young, digitHandle)(i)
			}
			return aged(old, plainHandle)(i)
		}, diverse), "firing#1"},
		{"a third of the replies pasted: still a crowd", crowd(400, aged(old, plainHandle), func(i int) string {
			if i%3 == 0 {
				return paste(i)
			}
			return diverse(i)
		}), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, mustParse(t, y), EngineOptions{})
			in := append(posty("mp-a", 60, t0), c.in...)
			sortReplies(in)
			e.Ingest(in...)
			if got := eval(t, e, at.Add(59*time.Minute)); statuses(got) != c.want {
				t.Errorf("got %q, want %q (%v)", statuses(got), c.want, summaries(got))
			}
		})
	}
}

// The volume rules' durable state must keep loading across versions: a
// daemon upgraded in place restores what the previous build saved. The
// files in testdata/volume_state were written by the first version of the
// spike, coordination and flatline detectors (gob and JSON) after the first
// half of volumeStream, with the findings that version then reported over the
// second half; TestVolumeStateFromFirstVersion checks that this build reads
// those states and reports exactly the same findings.

const volumeStateYAML = `
rules:
  - name: spike-target
    type: spike
    group_by: [target]
    timeframe: 1h
    threshold_cur: 30
    threshold_ref: 2
    baseline: {window_days: 14, min_history_buckets: 168, recent_buckets: 24, min_recent_buckets: 12}
    per_post:
      first_hours: 2
      ratio_vs_p90: 3
      min_posts: 5
      organic: {min_known_share: 0.5, max_new_share: 0.5, max_digit_share: 0.5, max_copy_share: 0.5}
    resolve_after: 3h
  - name: spike-all
    type: spike
    group_by: []
    timeframe: 1h
    threshold_cur: 60
    threshold_ref: 10
    spike_height: 2
    baseline: {window_days: 14, min_history_buckets: 168, recent_buckets: 24, min_recent_buckets: 12}
    per_post: {first_hours: 2, ratio_vs_p90: 3, min_posts: 5}
    resolve_after: 3h
  - name: coordination
    type: coordination
    co_reply: {time_window: 300s, window: 24h, min_edge_weight: 2, min_component: 3, min_targets: 3}
    burst:
      window: 60s
      min_accounts: 12
      organic: {min_known_share: 0.5, max_new_share: 0.5, max_digit_share: 0.5, max_copy_share: 0.5}
    resolve_after: 2h
  - name: flatline
    type: flatline
    quiet_for: 12h
    min_daily_replies: 20
    baseline_days: 3
`

// volumeStream is ten days of replies to six targets on two platforms, with
// what makes each volume rule speak: a flood of digit-handled accounts on one
// post of mp-b (spike), an old crowd on a viral post of mp-d (popular post),
// a ring of accounts replying together under posts of three targets (co-reply
// network), bursts of distinct accounts on mp-e within seconds, and mp-c going
// silent on day 6 (flatline). Items are in time order.
func volumeStream() []Item {
	rng := rand.New(rand.NewPCG(7, 11))
	start := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	old := start.AddDate(-3, 0, 0)
	young := start.AddDate(0, 0, -10)
	var rs []model.Reply
	n := 0
	add := func(target string, p model.Platform, author string, created *time.Time, post string, at time.Time, txt string) {
		n++
		rs = append(rs, model.Reply{Platform: p, ID: fmt.Sprintf("v%d", n), Target: target, PostID: post,
			URL: fmt.Sprintf("https://example.social/@%s/%d", author, n), CreatedAt: at, Text: txt,
			Author: model.Author{ID: author, Handle: author, CreatedAt: created, Followers: n % 300}})
	}
	targets := []string{"mp-a", "mp-b", "mp-c", "mp-d", "mp-e", "mp-f"}
	for h := 0; h < 240; h++ {
		hour := start.Add(time.Duration(h) * time.Hour)
		for ti, tg := range targets {
			if tg == "mp-c" && h >= 6*24 {
				continue // the source goes quiet
			}
			p := model.Mastodon
			if ti%2 == 1 {
				p = model.Bluesky
			}
			post := fmt.Sprintf("%s-p%d", tg, h/6)
			for k := 0; k < 2+ti+rng.IntN(3); k++ {
				at := hour.Add(time.Duration(rng.IntN(3600)) * time.Second)
				var created *time.Time
				if rng.IntN(2) == 0 {
					created = &old
				}
				add(tg, p, fmt.Sprintf("user%d", rng.IntN(400)), created, post, at, fmt.Sprintf("an ordinary reply number %d about the day's news", rng.IntN(1e6)))
			}
		}
		day := h / 24
		switch {
		case h%24 == 14 && day >= 7: // flood on mp-b
			for k := 0; k < 90; k++ {
				a := fmt.Sprintf("patriot%08d", rng.IntN(60))
				add("mp-b", model.Bluesky, a, &young, "mp-b-flood", hour.Add(time.Duration(k*30)*time.Second), "the same pasted line that is long enough to count as a copy")
			}
		case h%24 == 9 && day >= 8: // a viral post on mp-d, old accounts in their own words
			for k := 0; k < 80; k++ {
				add("mp-d", model.Bluesky, fmt.Sprintf("fan%d", rng.IntN(1000)), &old, fmt.Sprintf("mp-d-viral%d", day), hour.Add(time.Duration(k*40)*time.Second),
					fmt.Sprintf("my own words about this, reply %d of a long and friendly thread", k))
			}
		case h%8 == 3: // a ring of six accounts on three targets
			for ti, tg := range []string{"mp-a", "mp-c", "mp-f"} {
				if tg == "mp-c" && h >= 6*24 {
					tg = "mp-e"
				}
				for k := 0; k < 6; k++ {
					add(tg, model.Mastodon, fmt.Sprintf("ring%d", k), &young, fmt.Sprintf("%s-p%d", tg, h/6), hour.Add(time.Duration(ti*600+k*20)*time.Second), "shared talking point")
				}
			}
		case h%24 == 20 && day%2 == 0: // a burst of distinct accounts on mp-e
			for k := 0; k < 15; k++ {
				add("mp-e", model.Bluesky, fmt.Sprintf("burst%d-%d", day, k), &young, "mp-e-burst", hour.Add(time.Duration(k*2)*time.Second), "a burst reply")
			}
		}
	}
	slices.SortStableFunc(rs, func(a, b model.Reply) int { return a.CreatedAt.Compare(b.CreatedAt) })
	items := make([]Item, len(rs))
	for i := range rs {
		items[i] = Item{Reply: rs[i], Norm: defaultNormalize(rs[i].Text), Seq: int64(i + 1)}
	}
	return items
}

// runVolume feeds items to det, evaluating every 15 minutes of data time
// from..to, and returns each finding as its time and the first 64 bits of
// the SHA-256 of its JSON (lists that come from map iteration sorted), so
// the golden files stay small.
const volumeStep = 15 * time.Minute

func runVolume(t *testing.T, det Detector, items []Item, from, to time.Time) []string {
	t.Helper()
	var out []string
	i := 0
	for at := from; !at.After(to); at = at.Add(volumeStep) {
		for i < len(items) && items[i].Reply.CreatedAt.Before(at) {
			det.Observe(&items[i])
			i++
		}
		for _, f := range det.Evaluate(at) {
			slices.Sort(f.Targets)
			slices.Sort(f.Platforms)
			slices.Sort(f.Accounts)
			slices.Sort(f.ReplyIDs)
			b, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			out = append(out, at.Format(time.RFC3339)+" "+hex.EncodeToString(sum[:8]))
			if testing.Verbose() {
				t.Logf("%s %s", at.Format(time.RFC3339), b)
			}
		}
	}
	return out
}

func TestVolumeStateFromFirstVersion(t *testing.T) {
	rs := mustParse(t, volumeStateYAML)
	items := volumeStream()
	start := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	half, end := start.Add(5*24*time.Hour), start.Add(10*24*time.Hour)
	cut, _ := slices.BinarySearchFunc(items, half, func(it Item, t time.Time) int { return it.Reply.CreatedAt.Compare(t) })
	for _, r := range rs {
		t.Run(r.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "volume_state")
			state, err := os.ReadFile(filepath.Join(dir, r.Name()+".state"))
			if err != nil {
				t.Fatal(err)
			}
			golden, err := os.ReadFile(filepath.Join(dir, r.Name()+".findings"))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimSuffix(string(golden), "\n"), "\n")
			if len(want) < 2 {
				t.Fatalf("golden %s has %d findings: the stream no longer exercises the rule", r.Name(), len(want))
			}
			newDet := func() Detector {
				d, err := r.Spec.NewDetector(Env{})
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			// the state the first version saved, read by this one
			d := newDet()
			if err := d.UnmarshalState(state); err != nil {
				t.Fatalf("read the first version's state: %v", err)
			}
			got := runVolume(t, d, slices.Clone(items[cut:]), half.Add(volumeStep), end)
			diffLines(t, "restored from the first version", got, want)

			// this version without a restart, and across its own save
			d = newDet()
			runVolume(t, d, slices.Clone(items[:cut]), start, half)
			diffLines(t, "uninterrupted", runVolume(t, d, slices.Clone(items[cut:]), half.Add(volumeStep), end), want)
			d = newDet()
			runVolume(t, d, slices.Clone(items[:cut]), start, half)
			b, err := d.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			d = newDet()
			if err := d.UnmarshalState(b); err != nil {
				t.Fatal(err)
			}
			diffLines(t, "restored from this version", runVolume(t, d, slices.Clone(items[cut:]), half.Add(volumeStep), end), want)
		})
	}
}

func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d findings, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: finding %d\n got %s\nwant %s", what, i, got[i], want[i])
			return
		}
	}
}

// With z_watch set, a spike too weak for z_alert fires at severity info,
// and the same alert (same window start) is updated to the rule's severity
// when the spike grows past z_alert; without z_watch the weak hour is
// quiet. Validation rejects a watch level at or above z_alert.
func TestSpikeWatchLevel(t *testing.T) {
	const y = `
rules:
  - name: spike
    type: spike
    severity: high
    timeframe: 1h
    threshold_cur: 30
    spike_height: 3
    z_alert: 6
    z_watch: %s
    poisson_p: 1.0e-4
    baseline: {window_days: 28, min_history_buckets: 336, recent_buckets: 72, min_recent_buckets: 24}
    resolve_after: 3h
`
	var in []model.Reply
	for h := range 48 { // median 30, MAD 10 an hour
		n := 20
		if h%2 == 1 {
			n = 40
		}
		in = append(in, spread("mp-a", "p"+itoa(h), n, t0.Add(time.Duration(h)*time.Hour), 50*time.Minute, "u"+itoa(h)+"-")...)
	}
	// z = (100-30)/14.8 = 4.7, then (250-30)/14.8 = 14.9
	in = append(in, spread("mp-a", "w", 100, t0.Add(48*time.Hour), 40*time.Minute, "w")...)
	in = append(in, spread("mp-a", "w", 250, t0.Add(49*time.Hour), 40*time.Minute, "x")...)
	sortReplies(in)
	run := func(zWatch string) [][]model.Alert {
		e := mustEngine(t, mustParse(t, fmt.Sprintf(y, zWatch)), EngineOptions{})
		var out [][]model.Alert
		i := 0
		for _, at := range []time.Time{t0.Add(48*time.Hour + 45*time.Minute), t0.Add(49*time.Hour + 45*time.Minute)} {
			for ; i < len(in) && !in[i].CreatedAt.After(at); i++ {
				e.Ingest(in[i])
			}
			out = append(out, eval(t, e, at))
		}
		return out
	}
	got := run("3.5")
	if statuses(got[0]) != "firing#1" || got[0][0].Severity != model.SeverityInfo || !strings.HasPrefix(got[0][0].Summary, "Watch") {
		t.Fatalf("watch hour: %q %v", statuses(got[0]), summaries(got[0]))
	}
	if statuses(got[1]) != "updated#2" || got[1][0].Severity != model.SeverityHigh || got[1][0].Key != got[0][0].Key ||
		strings.HasPrefix(got[1][0].Summary, "Watch") || got[1][0].Evidence.Z < 6 {
		t.Fatalf("alert hour: %q %v", statuses(got[1]), summaries(got[1]))
	}
	got = run("0")
	if statuses(got[0]) != "" || statuses(got[1]) != "firing#1" || got[1][0].Severity != model.SeverityHigh {
		t.Fatalf("without z_watch: %q then %q", statuses(got[0]), statuses(got[1]))
	}
	for _, bad := range []string{"6", "7", "-1"} {
		_, err := Parse("rules.yaml", []byte(fmt.Sprintf(y, bad)))
		if err == nil || !strings.Contains(err.Error(), "z_watch") {
			t.Errorf("z_watch %s: error %v", bad, err)
		}
	}
}
