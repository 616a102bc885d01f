package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/internal/reload"
	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
)

// shutdownTimeout bounds how long stopping may take: in-flight crawls and
// sends are abandoned safely after it (their state is durable).
const shutdownTimeout = 15 * time.Second

// StatusSnapshot is the running configuration's state for the status page.
type StatusSnapshot struct {
	LoadedAt     time.Time
	Files        []string
	LastReloadAt time.Time
	LastError    string
}

type configState struct {
	mu   sync.Mutex
	snap StatusSnapshot
}

func (c *configState) get() StatusSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap
}

func (c *configState) set(f func(*StatusSnapshot)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.snap)
}

// Run is `monitor run`: the daemon. It crawls every account on its schedule,
// detects after each batch, delivers alerts, serves the status surface, and
// reloads the configuration when a file changes or on SIGHUP. It returns when
// ctx is cancelled, after a bounded shutdown in the reverse order of start.
func Run(ctx context.Context, path string, out IO, hup <-chan os.Signal) error {
	a, err := open(ctx, path, Options{IO: out})
	if err != nil {
		return err
	}
	return a.Serve(ctx, path, hup)
}

// open loads a configuration and builds an App from it, logging as the
// configuration says unless opts brings a logger.
func open(ctx context.Context, path string, opts Options) (*App, error) {
	b, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("load %s:\n%w", path, err)
	}
	if opts.Logger == nil {
		opts.Logger = newLogger(opts.IO.Stderr, b.Config.Log.Level, b.Config.Log.Format)
	}
	return New(ctx, b, opts)
}

// Serve runs the daemon loop on an App (Run without the loading, for tests).
func (a *App) Serve(ctx context.Context, path string, hup <-chan os.Signal) error {
	defer a.Close()
	b, _, _, _ := a.current()
	state := a.cfgState
	state.set(func(s *StatusSnapshot) { s.LoadedAt = a.now(); s.Files = b.Files() })

	// 1. HTTP first, so /healthz answers while the rest starts.
	stopHTTP, err := a.startHTTP(ctx, state.get)
	if err != nil {
		return err
	}
	// 2. Delivery loop: pending deliveries left by a previous run go out now.
	runCtx, cancelRun := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		for runCtx.Err() == nil {
			_, _, _, d := a.current()
			dctx, cancel := context.WithCancel(runCtx)
			a.mu.Lock()
			a.cancelDelivery = cancel
			a.mu.Unlock()
			if err := d.Run(dctx); err != nil && !errors.Is(err, context.Canceled) {
				a.logger.Error("delivery loop stopped", slog.Any("error", err))
				select {
				case <-runCtx.Done():
				case <-time.After(5 * time.Second):
				}
			}
			cancel()
		}
	}()
	bg.Add(1)
	go func() { defer bg.Done(); a.watchOutbox(runCtx, 15*time.Second) }()
	// 3. Scheduler: crawls, then detection after each batch.
	sched := NewScheduler(a.now, a.logger, 8, func(ctx context.Context, now time.Time, ran []string) {
		if _, err := a.detect(ctx, now); err != nil {
			a.logger.Error("detection failed", slog.Any("error", err))
		}
	})
	if err := sched.Set(a.jobs(b)); err != nil {
		cancelRun()
		bg.Wait()
		return err
	}
	schedCtx, cancelSched := context.WithCancel(runCtx)
	sched.Start(schedCtx)
	a.logger.Info("mpwatch running", slog.Int("targets", len(b.Config.Targets)), slog.Int("rules", len(b.Rules)),
		slog.String("version", Version()))

	// 4. Reload on file change or SIGHUP.
	reloadNow := func(trigger string) {
		nb, err := Load(path)
		now := a.now()
		if err == nil {
			err = a.apply(ctx, nb)
			if err == nil {
				err = sched.Set(a.jobs(nb))
			}
		}
		if err != nil {
			msg := yamlx.AsErrors(err).Error()
			a.metrics.ConfigReload("error")
			a.logger.Error("configuration not reloaded; the previous one keeps running",
				slog.String("trigger", trigger), slog.String("error", msg))
			state.set(func(s *StatusSnapshot) { s.LastReloadAt, s.LastError = now, msg })
			a.reportOps(ctx, "config.reload_failed", msg, "The configuration change was rejected; the previous configuration keeps running.", msg, now)
			return
		}
		a.metrics.ConfigReload("ok")
		a.logger.Info("configuration reloaded", slog.String("trigger", trigger), slog.Int("targets", len(nb.Config.Targets)))
		state.set(func(s *StatusSnapshot) {
			s.LoadedAt, s.LastReloadAt, s.LastError, s.Files = now, now, "", nb.Files()
		})
		// the delivery loop picks up the new dispatcher
		a.mu.RLock()
		if a.cancelDelivery != nil {
			a.cancelDelivery()
		}
		a.mu.RUnlock()
	}
	files := func() []string {
		nb, _, _, _ := a.current()
		return append(nb.Files(), nb.Config.File)
	}
	watcher, err := reload.Watch(runCtx, files, func() { reloadNow("file") }, reload.Options{Logger: a.logger})
	if err != nil {
		a.logger.Warn("config files are not watched; reload with SIGHUP", slog.Any("error", err))
	}

	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			if watcher != nil {
				watcher.Trigger()
			} else {
				reloadNow("sighup")
			}
		}
	}

	// Shutdown, in reverse order of start, bounded.
	a.logger.Info("shutting down")
	deadline := time.Now().Add(shutdownTimeout)
	cancelSched()
	waitUntil(sched.Wait, deadline)
	cancelRun()
	waitUntil(bg.Wait, deadline)
	if watcher != nil {
		waitUntil(func() { <-watcher.Done() }, deadline)
	}
	hctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := stopHTTP(hctx); err != nil {
		a.logger.Warn("http shutdown", slog.Any("error", err))
	}
	return nil
}

// waitUntil waits for wait to return or the deadline to pass.
func waitUntil(wait func(), deadline time.Time) {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
	}
}

// reportOps sends an operations alert (for administrators, never the comms
// channel) about mpwatch itself. Its key is derived from the rule and scope,
// so the same problem reported again is not sent twice.
func (a *App) reportOps(ctx context.Context, rule, scope, reason, detail string, now time.Time) {
	_, _, _, disp := a.current()
	h := sha256.Sum256([]byte(rule + "\x00" + scope))
	al := model.Alert{
		Key: hex.EncodeToString(h[:8]), Seq: 1, Rule: rule, Type: "operations", Severity: model.SeverityWarning,
		Status: model.StatusFiring, Audience: model.AudienceOps, WindowStart: now, WindowEnd: now, FiredAt: now,
		Summary:  reason,
		Evidence: model.Evidence{Reason: reason + "\n" + detail},
	}
	if err := disp.Submit(ctx, []model.Alert{al}); err != nil {
		a.logger.Error("could not record operations alert", slog.String("rule", rule), slog.Any("error", err))
	}
}

// Once is `monitor once`: one full cycle over every account (crawl all,
// detect, deliver), progress on stderr and a summary at the end. It fails
// (exit 1) when any source failed.
func Once(ctx context.Context, path string, out IO) error {
	a, err := open(ctx, path, Options{IO: out})
	if err != nil {
		return err
	}
	defer a.Close()
	sum, err := a.Once(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out.Stderr, sum.String())
	if sum.Crawl.Failed > 0 {
		return ExitError{Code: 1, Quiet: true, Err: fmt.Errorf("%d source(s) failed", sum.Crawl.Failed)}
	}
	return nil
}

// OnceSummary says what one cycle did.
type OnceSummary struct {
	Crawl  crawler.Summary
	Alerts []model.Alert
}

func (s OnceSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "crawled %d source(s): %d new replies, %d failed, %d skipped (backing off)",
		s.Crawl.Attempted, s.Crawl.RepliesAdded, s.Crawl.Failed, s.Crawl.Skipped)
	if s.Crawl.NetworkDown {
		fmt.Fprintf(&b, "\nthe network looks down: every source failed to connect (%s)", s.Crawl.NetworkErr)
	}
	for _, o := range s.Crawl.Outcomes {
		if o.Err != nil {
			fmt.Fprintf(&b, "\n  failed: %s %s (%s): %v", o.Target, o.Platform, o.Account, o.Err)
		}
	}
	fmt.Fprintf(&b, "\n%d alert event(s)", len(s.Alerts))
	return b.String()
}

// Once runs one cycle on an App.
func (a *App) Once(ctx context.Context) (OnceSummary, error) {
	b, runner, _, disp := a.current()
	if len(b.Config.Targets) == 0 {
		return OnceSummary{}, errNoTargets
	}
	start := time.Now()
	sum := runner.CrawlAll(ctx, b.Config.Targets, true)
	for _, o := range sum.Outcomes {
		outcome := "ok"
		if o.Skipped {
			outcome = "skipped"
		} else if o.Err != nil {
			outcome = "error"
		}
		a.metrics.CrawlFinished(string(o.Platform), outcome, 0)
		a.metrics.RepliesIngested(string(o.Platform), o.Added)
		fmt.Fprintf(a.opts.IO.Stderr, "  %-8s %-24s %-40s %4d new%s\n", o.Platform, o.Target, o.Account, o.Added, errSuffix(o.Err))
	}
	a.logger.Debug("crawl finished", slog.Duration("took", time.Since(start)))
	if ctx.Err() != nil {
		return OnceSummary{Crawl: sum}, ctx.Err()
	}
	now := a.now()
	alerts, err := a.detect(ctx, now)
	if err != nil {
		return OnceSummary{Crawl: sum}, err
	}
	if sum.NetworkDown {
		// one alert per outage window of six hours, however many cycles see it
		a.reportOps(ctx, "crawler.network_down", now.UTC().Truncate(6*time.Hour).Format(time.RFC3339),
			"Every source failed to connect: the network (or DNS) looks down.", sum.NetworkErr, now)
	}
	// A one-shot run will not be here when group_wait ends, so it flushes
	// as of the longest group_wait: the alerts of this cycle go out now.
	if err := disp.Flush(ctx, a.now().Add(maxGroupWait(b))); err != nil {
		return OnceSummary{Crawl: sum, Alerts: alerts}, fmt.Errorf("deliver alerts: %w", err)
	}
	return OnceSummary{Crawl: sum, Alerts: alerts}, nil
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return "  error: " + err.Error()
}

// maxGroupWait is the longest group_wait of any route (default 30s).
func maxGroupWait(b *Bundle) time.Duration {
	w := notify.DefaultGroupWait
	if g := b.Notify.Default.GroupWait; g != nil {
		w = g.D()
	}
	for _, r := range b.Notify.Routes {
		if r.GroupWait != nil && r.GroupWait.D() > w {
			w = r.GroupWait.D()
		}
	}
	return w
}
