package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Store is what the runner needs from storage: the source's health (with its
// cursor) and one atomic write of a crawl's data together with the new health.
type Store interface {
	SourceHealth(ctx context.Context, key string) (model.SourceHealth, bool, error)
	SaveCrawl(ctx context.Context, h model.SourceHealth, posts []model.Post, replies []model.Reply) (int, error)
}

// RunnerOptions configure a Runner. Zero values take defaults.
type RunnerOptions struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Concurrency bounds how many sources CrawlAll reads at once (default 4).
	Concurrency int
	// Interval returns an account's schedule interval; failure backoff starts
	// there and is capped at Interval × BackoffMaxFactor (default 5m, 8).
	Interval         func(model.Account) time.Duration
	BackoffMaxFactor int
	// NetworkRetry is when sources are tried again after a "network down"
	// verdict (default 1m): the outage is not theirs, so they keep their
	// schedule rather than back off.
	NetworkRetry time.Duration
}

// Runner crawls sources and records each one's health, cursor and backoff.
type Runner struct {
	store   Store
	sources map[model.Platform]Source
	opts    RunnerOptions
}

// Outcome is what happened to one source in one run.
type Outcome struct {
	SourceKey string
	Target    string
	Platform  model.Platform
	Account   string
	Skipped   bool // next_check was still in the future
	Posts     int
	Replies   int // replies the source returned
	Added     int // replies new to the store
	Err       error
	Kind      Kind
	NextCheck time.Time
	// ConsecutiveFailures after this run.
	ConsecutiveFailures int
}

// Summary is the result of CrawlAll.
type Summary struct {
	Outcomes     []Outcome
	Attempted    int
	Skipped      int
	Failed       int
	RepliesAdded int
	// NetworkDown is set when every attempted source failed with a network
	// error: one outage, recorded once, not counted against each source.
	NetworkDown bool
	NetworkErr  string
}

// NewRunner builds a runner over the given store and sources.
func NewRunner(store Store, sources map[model.Platform]Source, opts RunnerOptions) *Runner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Interval == nil {
		opts.Interval = func(model.Account) time.Duration { return 5 * time.Minute }
	}
	if opts.BackoffMaxFactor <= 0 {
		opts.BackoffMaxFactor = 8
	}
	if opts.NetworkRetry <= 0 {
		opts.NetworkRetry = time.Minute
	}
	return &Runner{store: store, sources: sources, opts: opts}
}

// pending is a crawl whose write is held back until the network verdict.
type pending struct {
	prev    model.SourceHealth
	res     Result
	err     error
	outcome Outcome
	acct    model.Account
}

// CrawlAccount crawls one account unless it is backing off (next_check in
// the future after failures), and stores the result and health atomically.
// The returned error is about storage; the source's own failure is in
// Outcome.Err and in its stored health.
func (r *Runner) CrawlAccount(ctx context.Context, target model.Target, acct model.Account) (Outcome, error) {
	return r.crawlAndSave(ctx, target, acct, false)
}

// ForceCrawlAccount is CrawlAccount ignoring backoff (an administrator's
// "crawl now").
func (r *Runner) ForceCrawlAccount(ctx context.Context, target model.Target, acct model.Account) (Outcome, error) {
	return r.crawlAndSave(ctx, target, acct, true)
}

func (r *Runner) crawlAndSave(ctx context.Context, target model.Target, acct model.Account, force bool) (Outcome, error) {
	p, err := r.crawl(ctx, target, acct, force)
	if err != nil || p.outcome.Skipped {
		return p.outcome, err
	}
	if ctx.Err() != nil {
		// Shutting down: the failure is ours, not the source's.
		p.outcome.Err = ctx.Err()
		return p.outcome, nil
	}
	return r.save(ctx, p, false)
}

// CrawlAll crawls every account of every target with bounded concurrency.
// force ignores backoff (monitor once). A failure of one source never stops
// the others.
func (r *Runner) CrawlAll(ctx context.Context, targets []model.Target, force bool) Summary {
	type job struct {
		t model.Target
		a model.Account
	}
	var jobs []job
	for _, t := range targets {
		for _, a := range t.Accounts {
			jobs = append(jobs, job{t, a})
		}
	}
	var (
		mu       sync.Mutex
		sum      Summary
		deferred []*pending
		anyOK    bool
	)
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p, err := r.crawl(ctx, j.t, j.a, force)
			if err != nil {
				p.outcome.Err = err
				mu.Lock()
				sum.Outcomes = append(sum.Outcomes, p.outcome)
				mu.Unlock()
				return
			}
			if p.outcome.Skipped {
				mu.Lock()
				sum.Outcomes = append(sum.Outcomes, p.outcome)
				mu.Unlock()
				return
			}
			// Network failures wait for the verdict; everything else is
			// written at once so memory stays flat however many sources run.
			if p.err != nil && KindOf(p.err) == KindNetwork {
				mu.Lock()
				deferred = append(deferred, p)
				mu.Unlock()
				return
			}
			o, err := r.save(ctx, p, false)
			if err != nil {
				o.Err = errors.Join(o.Err, err)
			}
			mu.Lock()
			if p.err == nil {
				anyOK = true
			}
			sum.Outcomes = append(sum.Outcomes, o)
			mu.Unlock()
		}()
	}
	wg.Wait()
	attempted := 0
	for _, o := range sum.Outcomes {
		if !o.Skipped {
			attempted++
		}
	}
	attempted += len(deferred)
	if ctx.Err() != nil {
		// Cancelled (shutdown): the network errors were ours; record nothing.
		for _, p := range deferred {
			o := p.outcome
			o.Err = p.err
			o.Kind = KindOf(p.err)
			sum.Outcomes = append(sum.Outcomes, o)
		}
		deferred = nil
	}
	// Every attempted source failed with a network error: that is one
	// outage, not hundreds of source failures. A lone source cannot tell its
	// own host's trouble from ours, so it takes at least two.
	sum.NetworkDown = len(deferred) >= 2 && len(deferred) == attempted && !anyOK && ctx.Err() == nil
	if sum.NetworkDown {
		sum.NetworkErr = CleanLine(deferred[0].err.Error(), 300)
		r.opts.Logger.Error("crawl network down", "sources", len(deferred), "error", sum.NetworkErr)
	}
	for _, p := range deferred {
		o, err := r.save(ctx, p, sum.NetworkDown)
		if err != nil {
			o.Err = errors.Join(o.Err, err)
		}
		sum.Outcomes = append(sum.Outcomes, o)
	}
	for _, o := range sum.Outcomes {
		switch {
		case o.Skipped:
			sum.Skipped++
		case o.Err != nil:
			sum.Failed++
		}
		sum.RepliesAdded += o.Added
	}
	sum.Attempted = attempted
	return sum
}

func (r *Runner) crawl(ctx context.Context, target model.Target, acct model.Account, force bool) (*pending, error) {
	key := model.SourceKey(target.ID, acct)
	now := r.opts.Now()
	p := &pending{acct: acct, outcome: Outcome{SourceKey: key, Target: target.ID, Platform: acct.Platform, Account: accountName(acct)}}
	prev, ok, err := r.store.SourceHealth(ctx, key)
	if err != nil {
		return p, fmt.Errorf("load health of source %s: %w", key, err)
	}
	if !ok {
		prev = model.SourceHealth{SourceKey: key, Target: target.ID, Platform: acct.Platform}
	}
	p.prev = prev
	if !force && prev.ConsecutiveFailures > 0 && prev.NextCheck.After(now) {
		p.outcome.Skipped = true
		p.outcome.NextCheck = prev.NextCheck
		p.outcome.ConsecutiveFailures = prev.ConsecutiveFailures
		return p, nil
	}
	src, ok := r.sources[acct.Platform]
	if !ok {
		p.err = fmt.Errorf("no crawler source for platform %q", acct.Platform)
		return p, nil
	}
	p.res, p.err = safeCrawl(ctx, src, Request{Target: target, Account: acct, Cursor: prev.Cursor, Now: now})
	return p, nil
}

// safeCrawl turns a panic in a source (a parser bug on bad input) into an
// error recorded against that source, so one page can never stop a run.
func safeCrawl(ctx context.Context, src Source, req Request) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("crawler source %s panicked: %v\n%s", src.Platform(), v, debug.Stack())
		}
	}()
	return src.Crawl(ctx, req)
}

func (r *Runner) save(ctx context.Context, p *pending, networkDown bool) (Outcome, error) {
	now := r.opts.Now()
	h := p.prev
	h.LastAttempt = now
	if p.res.Cursor != "" {
		h.Cursor = p.res.Cursor
	}
	interval := r.opts.Interval(p.acct)
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	o := p.outcome
	o.Err = p.err
	o.Kind = KindOf(p.err)
	o.Posts = len(p.res.Posts)
	o.Replies = len(p.res.Replies)
	log := r.opts.Logger.With("target", o.Target, "platform", string(o.Platform), "account", o.Account)
	switch {
	case p.err == nil:
		h.LastSuccess = now
		h.ConsecutiveFailures = 0
		h.LastError = ""
		h.NextCheck = now.Add(interval)
	case networkDown:
		// Not the source's fault: keep its failure count, try again soon.
		h.LastError = "network down: " + CleanLine(p.err.Error(), 500)
		h.NextCheck = now.Add(r.opts.NetworkRetry)
	default:
		h.ConsecutiveFailures++
		h.LastError = CleanLine(p.err.Error(), 500)
		h.NextCheck = now.Add(r.Backoff(interval, h.ConsecutiveFailures, retryAfter(p.err)))
	}
	o.NextCheck = h.NextCheck
	o.ConsecutiveFailures = h.ConsecutiveFailures
	added, err := r.store.SaveCrawl(ctx, h, p.res.Posts, p.res.Replies)
	o.Added = added
	if err != nil {
		err = fmt.Errorf("save crawl of source %s: %w", o.SourceKey, err)
		log.Error("crawl not saved", "error", err)
		return o, err
	}
	if p.err != nil && !networkDown {
		log.Warn("crawl failed", "error", h.LastError, "kind", o.Kind.String(), "consecutive_failures", h.ConsecutiveFailures, "next_check", h.NextCheck, "added", added)
	} else {
		log.Info("crawl done", "posts", o.Posts, "replies", o.Replies, "added", added)
	}
	return o, nil
}

func retryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Backoff is how long a source that failed n times in a row waits: the
// schedule interval doubled per failure, capped at interval × factor, with
// jitter in [80%, 100%] so sources that failed together spread out; never
// less than what the server asked for (still capped). A source is never
// disabled: at worst it is tried every interval × factor.
func (r *Runner) Backoff(interval time.Duration, n int, serverWait time.Duration) time.Duration {
	limit := interval * time.Duration(r.opts.BackoffMaxFactor)
	d := interval << min(max(n-1, 0), 30)
	if d <= 0 || d > limit {
		d = limit
	}
	d = d - time.Duration(rand.Float64()*0.2*float64(d))
	if serverWait > d {
		d = min(serverWait, limit)
	}
	return d
}

func accountName(a model.Account) string {
	if a.Handle != "" {
		return a.Handle
	}
	return a.URL
}
