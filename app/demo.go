package app

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/config"
	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/bluesky"
	"github.com/mpwatch/mpwatch/crawler/mastodon"
	"github.com/mpwatch/mpwatch/internal/fakeplatform"
	"github.com/mpwatch/mpwatch/internal/scenario"
	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/rules"
)

// DemoOptions are `monitor demo`'s flags.
type DemoOptions struct {
	ConfigPath string
	// Speed is simulated seconds per real second.
	Speed float64
	// Export writes the scenario in the replay format and exits.
	Export string
	// SlackWebhook, when set, also sends alerts to this incoming webhook.
	SlackWebhook string
	// DB is the database file; empty means a temporary one.
	DB string
	// Start is the simulated start of the attack day (default 2023-09-01
	// 04:00 UTC, the eve of the Labour Day weekend).
	Start time.Time
	// History is how much ordinary traffic precedes the attack day, stored
	// before the demo starts so volume baselines exist (default 14 days).
	History time.Duration
	// Tick is the real time between crawl cycles (default 250ms).
	Tick time.Duration
	// Step, when set, makes the simulated clock advance by Step at each
	// cycle instead of following real time at Speed: a run is then the
	// same on a loaded machine as on an idle one (tests), and Speed and
	// Tick are not used.
	Step time.Duration
}

// DemoResult is what the demo injected and what it detected.
type DemoResult struct {
	Campaigns []DemoCampaign
	Popular   []DemoPopular
	Alerts    []model.Alert
	Replies   map[model.Platform]int // collected through the crawler
}

// DemoCampaign is one injected campaign and its detection.
type DemoCampaign struct {
	Name       string
	Targets    []string
	Accounts   int
	Replies    int
	Start      time.Time
	Detected   bool
	FirstAlert time.Time
	Rules      []string
	Found      []string // targets named by alerts that carry this campaign's replies
}

// DemoPopular is an injected popular post and whether it was (wrongly) flagged.
type DemoPopular struct {
	Target  string
	At      time.Time
	Replies int
	Flagged []string // comms alerts on this target not explained by a campaign
}

// clock is the demo's accelerated simulated clock.
type simClock struct {
	mu        sync.Mutex
	simStart  time.Time
	realStart time.Time
	speed     float64
	real      func() time.Time
	// stepped: the clock is at simStart+stepped when step is set
	step, stepped time.Duration
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.step > 0 {
		return c.simStart.Add(c.stepped).UTC()
	}
	el := c.real().Sub(c.realStart)
	return c.simStart.Add(time.Duration(float64(el) * c.speed)).UTC()
}

// advance moves a stepped clock on by one step.
func (c *simClock) advance() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stepped += c.step
}

// Demo is `monitor demo`: the real pipeline (scheduler, crawler over HTTP,
// store, rules, notifier) against simulated Mastodon and Bluesky servers on
// 127.0.0.1, replaying a day of a 2023-style attack on an accelerated clock.
func Demo(ctx context.Context, o DemoOptions, out IO) error {
	_, err := RunDemo(ctx, o, out)
	return err
}

// RunDemo runs the demo and returns its result (tests assert on it).
func RunDemo(ctx context.Context, o DemoOptions, out IO) (*DemoResult, error) {
	if o.Speed <= 0 {
		o.Speed = 1440
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2023, 9, 1, 4, 0, 0, 0, time.UTC)
	}
	if o.History == 0 {
		o.History = 14 * 24 * time.Hour
	}
	if o.Tick <= 0 {
		o.Tick = 250 * time.Millisecond
	}
	cfg := scenario.DemoConfig(o.Start, o.History)
	sc := scenario.Generate(cfg, scenario.LoadCorpus())
	if o.Export != "" {
		return nil, exportScenario(o.Export, sc, out)
	}

	// Simulated platforms.
	masto := fakeplatform.NewMastodon(fakeplatform.MastodonOptions{})
	defer masto.Close()
	bsky := fakeplatform.NewBluesky()
	defer bsky.Close()

	// The watchlist: the demo MPs, pointing at the simulated servers.
	var wl strings.Builder
	wl.WriteString("targets:\n")
	for _, t := range cfg.Targets {
		fmt.Fprintf(&wl, "  - id: %s\n    name: %q\n    team: demo\n    accounts:\n", t.ID, t.Name)
		switch t.Platform {
		case model.Mastodon:
			user := strings.Split(strings.TrimPrefix(t.Handle, "@"), "@")[0]
			fmt.Fprintf(&wl, "      - {platform: mastodon, handle: \"@%s@%s\", schedule: \"@every 5m\"}\n", user, masto.Host())
		case model.Bluesky:
			fmt.Fprintf(&wl, "      - {platform: bluesky, handle: %s, schedule: \"@every 5m\"}\n", t.Handle)
		}
	}
	cfgYAML := "watchlists: []\nrule_files: []\nstore: {retention: 0}\nhttp: {listen: \"\"}\nschedule: {jitter: 0s}\nlog: {level: warn}\n" +
		"crawler: {lookback: 72h, rescan: 24h, delay: 0s, random_delay: 0s, respect_robots_txt: false}\n" + wl.String()
	c, err := config.Parse("demo.yaml", []byte(cfgYAML), config.OSFS())
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	b := &Bundle{Config: c}
	// Rules and receivers: those of --config when it loads, else the defaults.
	if o.ConfigPath != "" {
		if ub, err := Load(o.ConfigPath); err == nil {
			b.Rules, b.Notify = ub.Rules, ub.Notify
			fmt.Fprintf(out.Stderr, "using the rules and receivers of %s\n", o.ConfigPath)
		} else if _, statErr := os.Stat(o.ConfigPath); statErr == nil {
			return nil, fmt.Errorf("load %s:\n%w", o.ConfigPath, err)
		}
	}
	if b.Rules == nil {
		if b.Rules, err = rules.LoadDefault(); err != nil {
			return nil, err
		}
		b.Notify = notify.DefaultConfig()
		b.DefaultRules = true
	}
	if o.SlackWebhook != "" {
		b.Notify.Receivers = append(b.Notify.Receivers, notify.ReceiverConfig{Name: "demo-slack", Type: notify.TypeSlack,
			Slack: &notify.SlackConfig{WebhookURL: yamlx.Secret{Secret: model.Secret(o.SlackWebhook)}}})
		// every comms alert also goes to Slack
		b.Notify.Routes = append([]notify.RouteConfig{{Receiver: "demo-slack", Continue: true}}, b.Notify.Routes...)
	}

	dbPath := o.DB
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "mpwatch-demo-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "demo.db")
	}

	live := o.Start
	clk := &simClock{simStart: live, realStart: time.Now(), speed: o.Speed, real: time.Now, step: o.Step}
	logger := slog.New(slog.NewTextHandler(out.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := New(ctx, b, Options{
		IO: out, Logger: logger, Now: clk.Now, DBPath: dbPath, NoHTTP: true,
		Sources: func(cl *crawler.Client) map[model.Platform]crawler.Source {
			return map[model.Platform]crawler.Source{
				model.Mastodon: mastodon.New(cl, mastodon.Options{Scheme: "http", Lookback: 72 * time.Hour, Rescan: 24 * time.Hour}),
				model.Bluesky:  bluesky.New(cl, bluesky.Options{BaseURL: bsky.URL(), WebURL: "https://bsky.app", Lookback: 72 * time.Hour, Rescan: 24 * time.Hour}),
			}
		},
		ClientOptions: func(co *crawler.Options) { co.NoDelay = true; co.RespectRobots = false },
	})
	if err != nil {
		return nil, err
	}
	defer a.Close()

	// History: ordinary traffic before the attack day goes straight into the
	// store (weeks of crawling would take too long to show), so the spike
	// rule has its seasonal baseline.
	pub := newPublisher(masto, bsky, cfg.Targets)
	var history []model.Reply
	var pending []scenario.Event
	for _, e := range sc.Events {
		if e.Reply.CreatedAt.Before(live) {
			history = append(history, e.Reply)
		} else {
			pending = append(pending, e)
		}
	}
	for _, p := range sc.Posts {
		pub.post(p)
	}
	if _, err := a.db.SaveReplies(ctx, history); err != nil {
		return nil, fmt.Errorf("store history: %w", err)
	}
	fmt.Fprintf(out.Stderr, "mpwatch demo: %d MPs on simulated Mastodon (%s) and Bluesky (%s)\n", len(cfg.Targets), masto.URL(), bsky.URL())
	fmt.Fprintf(out.Stderr, "stored %d days of ordinary history (%d replies); now playing %s from %s at %.0fx\n",
		int(o.History.Hours()/24), len(history), "24h", live.Format("2006-01-02 15:04 MST"), o.Speed)

	// The first detection digests the history (baselines), quietly.
	if _, _, eng, _ := a.current(); eng != nil {
		if _, err := eng.Evaluate(ctx, live); err != nil {
			return nil, fmt.Errorf("learn baselines: %w", err)
		}
	}

	sched := NewScheduler(clk.Now, logger, 8, nil)
	if err := sched.Set(a.jobs(b)); err != nil {
		return nil, err
	}
	end := live.Add(24 * time.Hour)
	res := &DemoResult{Replies: map[model.Platform]int{}}
	collected := 0
	lastProgress := time.Time{}
	next := 0
	for {
		now := clk.Now()
		if now.After(end) {
			now = end
		}
		// publish what has been posted by now on the simulated platforms
		for next < len(pending) && !pending[next].Reply.CreatedAt.After(now) {
			pub.reply(pending[next])
			next++
		}
		if ran := sched.RunDue(ctx, now); len(ran) > 0 {
			alerts, err := a.detect(ctx, now)
			if err != nil {
				logger.Error("detection failed", slog.Any("error", err))
			}
			res.Alerts = append(res.Alerts, alerts...)
			_, _, _, disp := a.current()
			if err := disp.Flush(ctx, a.now().Add(maxGroupWait(b))); err != nil {
				logger.Warn("delivery", slog.Any("error", err))
			}
		}
		if now.Sub(lastProgress) >= 2*time.Hour || now.Equal(end) {
			counts, _ := a.db.CountReplies(ctx, live, end.Add(time.Hour), 24*time.Hour)
			collected = 0
			per := map[model.Platform]int{}
			for _, c := range counts {
				collected += c.Count
				per[c.Platform] += c.Count
			}
			res.Replies = per
			fmt.Fprintf(out.Stderr, "[sim %s] collected today: %d replies (mastodon %d, bluesky %d); alert events so far: %d\n",
				now.Format("Jan 02 15:04"), collected, per[model.Mastodon], per[model.Bluesky], len(res.Alerts))
			lastProgress = now
		}
		if !now.Before(end) {
			break
		}
		if o.Step > 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			clk.advance()
			continue
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(o.Tick):
		}
	}
	summarise(res, cfg, sc)
	printSummary(out.Stdout, res)
	return res, nil
}

// publisher puts scenario posts and replies on the simulated platforms.
type publisher struct {
	masto    *fakeplatform.Mastodon
	bsky     *fakeplatform.Bluesky
	targets  map[string]scenario.Target
	postIDs  map[string]string // scenario post id -> platform id / at-URI
	accounts map[string]bool
}

func newPublisher(m *fakeplatform.Mastodon, b *fakeplatform.Bluesky, ts []scenario.Target) *publisher {
	p := &publisher{masto: m, bsky: b, targets: map[string]scenario.Target{}, postIDs: map[string]string{}, accounts: map[string]bool{}}
	for _, t := range ts {
		p.targets[t.ID] = t
		created := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
		switch t.Platform {
		case model.Mastodon:
			m.AddAccount(fakeplatform.MastodonAccount{Username: mastoUser(t.Handle), DisplayName: t.Name, CreatedAt: created, Followers: 12000})
		case model.Bluesky:
			b.AddProfile(fakeplatform.BlueskyProfile{Handle: t.Handle, DisplayName: t.Name, CreatedAt: created, Followers: 9000})
		}
	}
	return p
}

func mastoUser(handle string) string {
	return strings.Split(strings.TrimPrefix(handle, "@"), "@")[0]
}

func (p *publisher) post(po model.Post) {
	t := p.targets[po.Target]
	switch t.Platform {
	case model.Mastodon:
		p.postIDs[po.ID] = p.masto.AddStatus(mastoUser(t.Handle), po.CreatedAt, "<p>"+html.EscapeString(po.Text)+"</p>")
	case model.Bluesky:
		p.postIDs[po.ID] = p.bsky.AddPost(t.Handle, po.CreatedAt, po.Text)
	}
}

func (p *publisher) reply(e scenario.Event) {
	r := e.Reply
	t := p.targets[r.Target]
	a := r.Author
	parent, ok := p.postIDs[r.PostID]
	if !ok {
		return
	}
	created := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	if a.CreatedAt != nil {
		created = *a.CreatedAt
	}
	switch t.Platform {
	case model.Mastodon:
		user := strings.NewReplacer(".", "_", "-", "_").Replace(a.Handle)
		if !p.accounts["m:"+user] {
			p.masto.AddAccount(fakeplatform.MastodonAccount{Username: user, DisplayName: a.Name, CreatedAt: created,
				Followers: a.Followers, Following: a.Following, Statuses: a.Posts, DefaultAvatar: a.DefaultAvatar})
			p.accounts["m:"+user] = true
		}
		p.masto.AddReply(parent, user, r.CreatedAt, "<p>"+html.EscapeString(r.Text)+"</p>")
	case model.Bluesky:
		handle := strings.NewReplacer("_", "-").Replace(a.Handle) + ".bsky.social"
		if !p.accounts["b:"+handle] {
			p.bsky.AddProfile(fakeplatform.BlueskyProfile{Handle: handle, DisplayName: a.Name, CreatedAt: created,
				Followers: a.Followers, Follows: a.Following, Posts: a.Posts, NoAvatar: a.DefaultAvatar})
			p.accounts["b:"+handle] = true
		}
		p.bsky.AddReply(parent, handle, r.CreatedAt, r.Text)
	}
}

// summarise matches alerts to what was injected: an alert whose replies come
// from a campaign's accounts detected that campaign; a comms alert on the
// popular post's MP that no campaign explains is a false alarm.
func summarise(res *DemoResult, cfg scenario.Config, sc scenario.Scenario) {
	botOf := map[string]string{} // author handle (as the platforms show it) -> campaign
	replies := map[string]int{}
	accounts := map[string]map[string]bool{}
	for _, e := range sc.Events {
		if e.Source == "" || strings.HasPrefix(e.Source, "popular:") {
			continue
		}
		h := e.Reply.Author.Handle
		botOf[strings.NewReplacer(".", "_", "-", "_").Replace(h)] = e.Source
		botOf[strings.NewReplacer("_", "-").Replace(h)+".bsky.social"] = e.Source
		replies[e.Source]++
		if accounts[e.Source] == nil {
			accounts[e.Source] = map[string]bool{}
		}
		accounts[e.Source][h] = true
	}
	for _, c := range cfg.Campaigns {
		dc := DemoCampaign{Name: c.Name, Targets: c.Targets, Accounts: len(accounts[c.Name]), Replies: replies[c.Name], Start: c.Start}
		found := map[string]bool{}
		ruleSet := map[string]bool{}
		for _, al := range res.Alerts {
			if al.Audience != model.AudienceComms || al.Status == model.StatusResolved {
				continue
			}
			hits := 0
			for _, acc := range al.Accounts {
				if botOf[strings.TrimPrefix(acc, "@")] == c.Name || botOf[accountUser(acc)] == c.Name {
					hits++
				}
			}
			if hits == 0 {
				continue
			}
			if !dc.Detected || al.FiredAt.Before(dc.FirstAlert) {
				dc.FirstAlert = al.FiredAt
			}
			dc.Detected = true
			ruleSet[al.Rule] = true
			for _, t := range al.Targets {
				found[t] = true
			}
		}
		for r := range ruleSet {
			dc.Rules = append(dc.Rules, r)
		}
		for t := range found {
			dc.Found = append(dc.Found, t)
		}
		sort.Strings(dc.Rules)
		sort.Strings(dc.Found)
		res.Campaigns = append(res.Campaigns, dc)
	}
	for _, p := range cfg.Popular {
		dp := DemoPopular{Target: p.Target, At: p.At, Replies: p.Replies}
		for _, al := range res.Alerts {
			if al.Audience != model.AudienceComms || al.Status != model.StatusFiring || !contains(al.Targets, p.Target) {
				continue
			}
			explained := false
			for _, acc := range al.Accounts {
				if botOf[strings.TrimPrefix(acc, "@")] != "" || botOf[accountUser(acc)] != "" {
					explained = true
					break
				}
			}
			if !explained {
				dp.Flagged = append(dp.Flagged, al.Rule+": "+al.Summary)
			}
		}
		res.Popular = append(res.Popular, dp)
	}
}

// accountUser strips a Mastodon "@user@host" to "user".
func accountUser(acc string) string {
	return strings.Split(strings.TrimPrefix(acc, "@"), "@")[0]
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func printSummary(w io.Writer, res *DemoResult) {
	fmt.Fprintln(w, "\n=== demo summary: injected vs detected ===")
	for _, c := range res.Campaigns {
		status := "NOT DETECTED"
		if c.Detected {
			status = fmt.Sprintf("detected %s after it began, by %s", c.FirstAlert.Sub(c.Start).Round(time.Minute), strings.Join(c.Rules, ", "))
		}
		fmt.Fprintf(w, "campaign %-24s %3d accounts, %3d replies on %d MP(s): %s\n", c.Name, c.Accounts, c.Replies, len(c.Targets), status)
		if c.Detected {
			fmt.Fprintf(w, "    MPs named in its alerts: %s (of %s)\n", strings.Join(c.Found, ", "), strings.Join(c.Targets, ", "))
		}
	}
	for _, p := range res.Popular {
		if len(p.Flagged) == 0 {
			fmt.Fprintf(w, "popular post on %s (%d ordinary replies): not flagged, as it should be\n", p.Target, p.Replies)
		} else {
			fmt.Fprintf(w, "popular post on %s (%d ordinary replies): FALSE ALARM: %s\n", p.Target, p.Replies, strings.Join(p.Flagged, "; "))
		}
	}
	fmt.Fprintf(w, "alert events: %d\n", len(res.Alerts))
}

func exportScenario(path string, sc scenario.Scenario, out IO) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for _, e := range sc.Events {
		if err := enc.Encode(e.Reply); err != nil {
			f.Close()
			return fmt.Errorf("export: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(out.Stderr, "wrote %d replies to %s (replay with: monitor replay --input %s)\n", len(sc.Events), path, path)
	return nil
}
