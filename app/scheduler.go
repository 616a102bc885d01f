package app

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts the standard five fields and the descriptors
// (@every 5m, @hourly, @daily), as the config package validates them.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Job is one recurring piece of work: the crawl of one account, or retention.
type Job struct {
	Key  string // unique; the account's source key, or "retention"
	Spec string // robfig/cron spec
	// Jitter spreads jobs with the same spec so that 1,000 accounts on
	// "@every 5m" do not all start in the same second. Each job's offset is
	// derived from its key, so it is stable across restarts and reloads.
	Jitter time.Duration
	Run    func(ctx context.Context, now time.Time) error
}

type entry struct {
	job     Job
	sched   cron.Schedule
	next    time.Time
	running bool
}

// Scheduler runs jobs on their cron schedules with an injected clock. It
// uses robfig/cron's parser and schedule arithmetic but drives them itself so
// that tests can step time (RunDue) instead of sleeping, and so that "one
// batch of due crawls, then detection" is explicit.
//
// A job still running when it falls due again is skipped, never run twice at
// once (cron's SkipIfStillRunning semantics).
type Scheduler struct {
	now     func() time.Time
	logger  *slog.Logger
	workers int
	// AfterBatch runs after every batch of due jobs has finished (detection).
	afterBatch func(ctx context.Context, now time.Time, ran []string)

	mu    sync.Mutex
	jobs  map[string]*entry
	wake  chan struct{}
	inRun sync.WaitGroup
}

// NewScheduler returns a scheduler with no jobs.
func NewScheduler(now func() time.Time, logger *slog.Logger, workers int,
	afterBatch func(ctx context.Context, now time.Time, ran []string)) *Scheduler {
	if workers < 1 {
		workers = 1
	}
	return &Scheduler{now: now, logger: logger, workers: workers, afterBatch: afterBatch,
		jobs: map[string]*entry{}, wake: make(chan struct{}, 1)}
}

// ParseSpec checks a cron spec the way the scheduler will read it.
func ParseSpec(spec string) (cron.Schedule, error) {
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

// jitterFor returns the key's stable offset in [0, max).
func jitterFor(key string, max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(max))
}

// Set replaces the job set atomically (start-up and hot reload). A job whose
// key and spec are unchanged keeps its next run time; new or changed jobs are
// scheduled from now; jobs no longer in the set stop being scheduled (one
// already running finishes).
func (s *Scheduler) Set(jobs []Job) error {
	now := s.now()
	next := make(map[string]*entry, len(jobs))
	for _, j := range jobs {
		if _, dup := next[j.Key]; dup {
			return fmt.Errorf("scheduler: job %q listed twice", j.Key)
		}
		sched, err := ParseSpec(j.Spec)
		if err != nil {
			return fmt.Errorf("scheduler: job %q: %w", j.Key, err)
		}
		next[j.Key] = &entry{job: j, sched: sched}
	}
	s.mu.Lock()
	for k, e := range next {
		if old, ok := s.jobs[k]; ok && old.job.Spec == e.job.Spec && old.job.Jitter == e.job.Jitter {
			e.next, e.running = old.next, old.running
			continue
		}
		e.next = e.sched.Next(now).Add(jitterFor(k, e.job.Jitter))
	}
	s.jobs = next
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Next returns the earliest next run time, or the zero time with no jobs.
func (s *Scheduler) Next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t time.Time
	for _, e := range s.jobs {
		if t.IsZero() || e.next.Before(t) {
			t = e.next
		}
	}
	return t
}

// NextOf returns a job's next run time (for status and tests).
func (s *Scheduler) NextOf(key string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[key]
	if !ok {
		return time.Time{}, false
	}
	return e.next, true
}

// RunDue runs every job due at now (in parallel, bounded by the worker
// count), waits for them, then calls AfterBatch once if any ran. It returns
// the keys that ran, sorted.
func (s *Scheduler) RunDue(ctx context.Context, now time.Time) []string {
	s.mu.Lock()
	var due []*entry
	for _, e := range s.jobs {
		if e.next.After(now) {
			continue
		}
		// Schedule the next run before starting, so a slow job cannot make
		// the loop spin on it.
		e.next = e.sched.Next(now).Add(jitterFor(e.job.Key, e.job.Jitter))
		if e.running {
			s.logger.Warn("job still running; skipping this run", slog.String("job", e.job.Key))
			continue
		}
		e.running = true
		due = append(due, e)
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	sort.Slice(due, func(i, j int) bool { return due[i].job.Key < due[j].job.Key })

	sem := make(chan struct{}, s.workers)
	var wg sync.WaitGroup
	for _, e := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func(e *entry) {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					s.logger.Error("job panicked", slog.String("job", e.job.Key), slog.Any("error", r))
				}
				s.mu.Lock()
				e.running = false
				s.mu.Unlock()
			}()
			if err := e.job.Run(ctx, now); err != nil && ctx.Err() == nil {
				s.logger.Warn("job failed", slog.String("job", e.job.Key), slog.Any("error", err))
			}
		}(e)
	}
	wg.Wait()
	keys := make([]string, len(due))
	for i, e := range due {
		keys[i] = e.job.Key
	}
	if s.afterBatch != nil && ctx.Err() == nil {
		s.afterBatch(ctx, now, keys)
	}
	return keys
}

// Start runs due jobs in the background until ctx is cancelled, sleeping on
// a real timer until the next one. In-flight jobs see ctx cancelled; Wait
// returns once they have stopped.
func (s *Scheduler) Start(ctx context.Context) {
	s.inRun.Add(1)
	go func() {
		defer s.inRun.Done()
		s.loop(ctx)
	}()
}

func (s *Scheduler) loop(ctx context.Context) {
	for {
		wait := time.Hour
		if n := s.Next(); !n.IsZero() {
			wait = max(n.Sub(s.now()), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
			continue
		case <-t.C:
		}
		s.RunDue(ctx, s.now())
	}
}

// Wait blocks until the loop started by Start has returned.
func (s *Scheduler) Wait() { s.inRun.Wait() }
