// Package app wires mpwatch together: it builds the store, crawler, rules
// engine, notifier and web server from a validated Bundle, owns the
// scheduler, runs a cycle (crawl → store → detect → notify) and shuts down in
// the reverse order of start. It is the only package that imports all others.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/bluesky"
	"github.com/mpwatch/mpwatch/crawler/facebook"
	"github.com/mpwatch/mpwatch/crawler/html"
	"github.com/mpwatch/mpwatch/crawler/mastodon"
	"github.com/mpwatch/mpwatch/crawler/rss"
	"github.com/mpwatch/mpwatch/crawler/x"
	"github.com/mpwatch/mpwatch/crawler/youtube"
	"github.com/mpwatch/mpwatch/internal/metrics"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/receivers"
	"github.com/mpwatch/mpwatch/rules"
	"github.com/mpwatch/mpwatch/store"
)

// Options are what a caller may inject into an App (tests, demo).
type Options struct {
	IO     IO
	Logger *slog.Logger
	Now    func() time.Time
	// Sources replaces the platform sources (the demo points them at its
	// simulated servers). Nil builds the real ones from the config.
	Sources func(c *crawler.Client) map[model.Platform]crawler.Source
	// ClientOptions adjusts the crawler client options after they are built
	// from config (the demo turns politeness delays off for its fakes).
	ClientOptions func(*crawler.Options)
	// DBPath overrides the config's store path.
	DBPath string
	// ExtraNotifiers are added to (or replace) the configured receivers by name.
	ExtraNotifiers map[string]notify.Notifier
	// NoHTTP disables the status server whatever the config says.
	NoHTTP bool
}

// App is a running mpwatch.
type App struct {
	opts    Options
	logger  *slog.Logger
	now     func() time.Time
	db      *store.DB
	metrics *metrics.Metrics
	client  *crawler.Client
	sources map[model.Platform]crawler.Source

	mu         sync.RWMutex // guards the fields below, swapped on reload
	bundle     *Bundle
	runner     *crawler.Runner
	engine     *rules.Engine
	dispatcher *notify.Dispatcher
	// cancelDelivery stops the running delivery loop so that it restarts
	// with a reloaded dispatcher.
	cancelDelivery context.CancelFunc

	detectMu sync.Mutex // one detection at a time
	// lastDetect is the time of the last detection (under detectMu), to
	// warn when detections are further apart than the rules tolerate.
	lastDetect time.Time
	cfgState   *configState
}

// ConfigStatus reports the running configuration and the last reload attempt.
func (a *App) ConfigStatus() StatusSnapshot { return a.cfgState.get() }

// New builds an App from a bundle: it opens the store (applying migrations)
// and builds every component, but starts nothing.
func New(ctx context.Context, b *Bundle, opts Options) (*App, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = newLogger(opts.IO.Stderr, b.Config.Log.Level, b.Config.Log.Format)
	}
	a := &App{opts: opts, logger: opts.Logger, now: opts.Now, metrics: metrics.New(), cfgState: &configState{}}
	path := b.Config.Store.Path
	if opts.DBPath != "" {
		path = opts.DBPath
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database directory %s: %w", dir, err)
		}
	}
	db, err := store.Open(ctx, path, store.WithClock(opts.Now))
	if err != nil {
		return nil, err
	}
	a.db = db
	if err := a.apply(ctx, b); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// clientOptions maps the config's crawler section onto the client.
func (a *App) clientOptions(b *Bundle) crawler.Options {
	c := b.Config.Crawler
	o := crawler.Options{
		Version:          Version(),
		UserAgent:        c.UserAgentFor(Version()),
		Contact:          c.Contact,
		Timeout:          c.Timeout,
		MaxBodyBytes:     c.MaxBodyBytes,
		Parallelism:      c.Parallelism,
		Delay:            c.Delay,
		RandomDelay:      c.RandomDelay,
		MaxRetries:       c.MaxRetries,
		RespectRobots:    c.RespectRobotsTxt,
		Lookback:         c.Lookback,
		Rescan:           c.Rescan,
		BackoffMaxFactor: c.BackoffMaxFactor,
		InstanceTokens:   maps.Clone(c.Instances),
		Now:              a.now,
		Logger:           a.logger,
	}
	if a.opts.ClientOptions != nil {
		a.opts.ClientOptions(&o)
	}
	return o
}

func (a *App) buildSources(b *Bundle, c *crawler.Client) map[model.Platform]crawler.Source {
	if a.opts.Sources != nil {
		return a.opts.Sources(c)
	}
	cc := b.Config.Crawler
	return map[model.Platform]crawler.Source{
		model.Mastodon: mastodon.New(c, mastodon.Options{Lookback: cc.Lookback, Rescan: cc.Rescan, Tokens: cc.Instances}),
		model.Bluesky:  bluesky.New(c, bluesky.Options{Lookback: cc.Lookback, Rescan: cc.Rescan}),
		model.HTML:     html.New(c, html.Options{}),
		model.RSS:      rss.New(c, rss.Options{}),
		model.Facebook: facebook.New(c, facebook.Options{Logger: a.logger}),
		model.X:        x.New(c, x.Options{Logger: a.logger}),
		model.YouTube:  youtube.New(c, youtube.Options{Logger: a.logger}),
	}
}

func (a *App) buildNotifiers(b *Bundle) (map[string]notify.Notifier, error) {
	out, err := receivers.Build(b.Notify, receivers.Options{Stdout: a.opts.IO.Stdout, Now: a.now})
	if err != nil {
		return nil, fmt.Errorf("build receivers: %w", err)
	}
	for name, n := range a.opts.ExtraNotifiers {
		out[name] = n
	}
	// every send is counted by receiver and outcome for /metrics
	for name, n := range out {
		out[name] = notify.NotifierFunc(func(ctx context.Context, m notify.Message) (notify.Receipt, error) {
			r, err := n.Notify(ctx, m)
			outcome := "sent"
			switch {
			case err != nil && notify.IsPermanent(err):
				outcome = "failed"
			case err != nil:
				outcome = "retry"
			}
			a.metrics.Delivery(name, outcome)
			return r, err
		})
	}
	return out, nil
}

// watchOutbox keeps the outbox backlog gauge current until ctx ends.
func (a *App) watchOutbox(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if counts, err := a.db.DeliveryCounts(ctx); err == nil {
			a.metrics.SetOutboxBacklog(counts["pending"] + counts["sending"])
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// apply builds the components that depend on the configuration and swaps
// them in. It is used at start and on every successful reload; a failure
// leaves the running components untouched.
func (a *App) apply(ctx context.Context, b *Bundle) error {
	client, err := crawler.NewClient(a.clientOptions(b))
	if err != nil {
		return fmt.Errorf("build crawler: %w", err)
	}
	sources := a.buildSources(b, client)
	runner := crawler.NewRunner(a.db, sources, crawler.RunnerOptions{
		Now:              a.now,
		Logger:           a.logger,
		Interval:         a.interval,
		BackoffMaxFactor: b.Config.Crawler.BackoffMaxFactor,
	})
	targets := map[string]model.Target{}
	for _, t := range b.Config.Targets {
		targets[t.ID] = t
	}
	engine, err := rules.NewEngine(b.Rules, rules.EngineOptions{
		Replies: a.db, State: a.db, Health: a.db, Env: rules.Env{Targets: targets}, Logger: a.logger,
	})
	if err != nil {
		return fmt.Errorf("build rules engine: %w", err)
	}
	// No detection may run between restoring the new engine's state and
	// swapping it in: the old engine would save state (and advance its read
	// position) that the new one never sees, and replies would be counted twice.
	a.detectMu.Lock()
	defer a.detectMu.Unlock()
	if err := engine.Restore(ctx); err != nil {
		return fmt.Errorf("restore detector state: %w", err)
	}
	notifiers, err := a.buildNotifiers(b)
	if err != nil {
		return err
	}
	disp, err := notify.New(b.Notify, a.db, notifiers, notify.Options{Now: a.now, Logger: a.logger, PublicURL: b.Config.HTTP.PublicURL})
	if err != nil {
		return fmt.Errorf("build notifier: %w", err)
	}
	if err := a.db.SyncTargets(ctx, b.Config.Targets); err != nil {
		return fmt.Errorf("record watchlist: %w", err)
	}
	a.mu.Lock()
	a.bundle, a.client, a.sources, a.runner, a.engine, a.dispatcher = b, client, sources, runner, engine, disp
	a.mu.Unlock()
	return nil
}

// interval is an account's schedule interval, from which failure backoff
// starts (and at a multiple of which it is capped).
func (a *App) interval(acct model.Account) time.Duration {
	s, err := ParseSpec(acct.Schedule)
	if err != nil {
		return 5 * time.Minute
	}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	n1 := s.Next(t0)
	return max(s.Next(n1).Sub(n1), time.Minute)
}

func (a *App) current() (*Bundle, *crawler.Runner, *rules.Engine, *notify.Dispatcher) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.bundle, a.runner, a.engine, a.dispatcher
}

// Close closes the store. Call it after everything using it has stopped.
func (a *App) Close() error { return a.db.Close() }

// DB exposes the store (for tests and the demo's summary).
func (a *App) DB() *store.DB { return a.db }

// crawlAccount is one scheduled job: crawl, record metrics.
func (a *App) crawlAccount(ctx context.Context, t model.Target, acct model.Account) error {
	_, runner, _, _ := a.current()
	start := time.Now()
	out, err := runner.CrawlAccount(ctx, t, acct)
	outcome := "ok"
	switch {
	case out.Skipped:
		outcome = "skipped"
	case err != nil || out.Err != nil:
		outcome = "error"
	}
	a.metrics.CrawlFinished(string(acct.Platform), outcome, time.Since(start))
	a.metrics.RepliesIngested(string(acct.Platform), out.Added)
	if err == nil {
		err = out.Err
	}
	return err
}

// detect evaluates the rules at now and hands the alert events to the
// dispatcher, which records them in the outbox before any send.
func (a *App) detect(ctx context.Context, now time.Time) ([]model.Alert, error) {
	a.detectMu.Lock()
	defer a.detectMu.Unlock()
	b, _, engine, disp := a.current()
	// Detection runs after each batch of crawls, so crawl schedules set
	// how far apart evaluations are.
	if gap, rule := rules.MaxEvaluationGap(b.Rules); gap > 0 && !a.lastDetect.IsZero() && now.Sub(a.lastDetect) > gap {
		a.logger.Warn("detections further apart than a spike rule's timeframe: the buckets in between were not tested; crawl more often",
			slog.Duration("since_last_detection", now.Sub(a.lastDetect)), slog.String("rule", rule), slog.Duration("timeframe", gap))
	}
	a.lastDetect = now
	start := time.Now()
	alerts, err := engine.Evaluate(ctx, now)
	a.metrics.RuleEvaluated("all", time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("evaluate rules: %w", err)
	}
	for _, al := range alerts {
		a.metrics.AlertEvent(al.Rule, string(al.Status))
		a.logger.Info("alert", slog.String("alert_key", al.Key), slog.String("rule", al.Rule),
			slog.String("status", string(al.Status)), slog.Any("targets", al.Targets), slog.String("summary", al.Summary))
	}
	if len(alerts) == 0 {
		return nil, nil
	}
	if err := disp.Submit(ctx, alerts); err != nil {
		return alerts, fmt.Errorf("record alerts for delivery: %w", err)
	}
	return alerts, nil
}

// jobs are the scheduled crawls (one per account) and retention.
func (a *App) jobs(b *Bundle) []Job {
	var jobs []Job
	for _, t := range b.Config.Targets {
		for _, acct := range t.Accounts {
			t, acct := t, acct
			jobs = append(jobs, Job{Key: model.SourceKey(t.ID, acct), Spec: acct.Schedule, Jitter: b.Config.Schedule.Jitter,
				Run: func(ctx context.Context, _ time.Time) error { return a.crawlAccount(ctx, t, acct) }})
		}
	}
	if b.Config.Store.Retention > 0 && b.Config.Schedule.Retention != "" {
		jobs = append(jobs, Job{Key: "retention", Spec: b.Config.Schedule.Retention, Run: a.retention})
	}
	return jobs
}

func (a *App) retention(ctx context.Context, now time.Time) error {
	b, _, _, _ := a.current()
	cut := now.Add(-b.Config.Store.Retention)
	n, err := a.db.PurgeRepliesBefore(ctx, cut)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	a.logger.Info("retention", slog.Int64("replies_deleted", n), slog.Time("before", cut))
	return nil
}

// startHTTP serves the status surface, returning a stop function.
func (a *App) startHTTP(ctx context.Context, status func() StatusSnapshot) (func(context.Context) error, error) {
	b, _, _, _ := a.current()
	if a.opts.NoHTTP || b.Config.HTTP.Listen == "" {
		return func(context.Context) error { return nil }, nil
	}
	h := a.webHandler(status)
	ln, err := net.Listen("tcp", b.Config.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (http.listen): %w", b.Config.HTTP.Listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("http server stopped", slog.Any("error", err))
		}
	}()
	a.logger.Info("http server listening", slog.String("addr", ln.Addr().String()))
	return srv.Shutdown, nil
}
