package app

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestSchedulerRunsEachJobOnItsOwnSchedule(t *testing.T) {
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	var mu sync.Mutex
	runs := map[string]int{}
	var batches []time.Time
	s := NewScheduler(clk.Now, discard(), 4, func(_ context.Context, now time.Time, _ []string) {
		batches = append(batches, now)
	})
	job := func(key, spec string) Job {
		return Job{Key: key, Spec: spec, Run: func(context.Context, time.Time) error {
			mu.Lock()
			runs[key]++
			mu.Unlock()
			return nil
		}}
	}
	if err := s.Set([]Job{job("fast", "@every 5m"), job("slow", "@every 15m"), job("daily", "@daily")}); err != nil {
		t.Fatal(err)
	}
	if got := s.Next(); !got.Equal(start.Add(5 * time.Minute)) {
		t.Fatalf("next = %v", got)
	}
	ctx := context.Background()
	for m := 1; m <= 60; m++ {
		now := start.Add(time.Duration(m) * time.Minute)
		clk.Set(now)
		s.RunDue(ctx, now)
	}
	want := map[string]int{"fast": 12, "slow": 4}
	if !reflect.DeepEqual(runs, want) {
		t.Fatalf("runs = %v, want %v", runs, want)
	}
	if len(batches) != 12 {
		t.Fatalf("detection ran after %d batches, want 12", len(batches))
	}
	// @daily falls at midnight
	clk.Set(start.Add(12 * time.Hour))
	if got := s.RunDue(ctx, clk.Now()); !reflect.DeepEqual(got, []string{"daily", "fast", "slow"}) {
		t.Fatalf("at midnight ran %v", got)
	}
}

func TestSchedulerSkipsAJobStillRunning(t *testing.T) {
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	s := NewScheduler(clk.Now, discard(), 4, nil)
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var n atomic.Int32
	s.Set([]Job{{Key: "a", Spec: "@every 1m", Run: func(ctx context.Context, _ time.Time) error {
		n.Add(1)
		started <- struct{}{}
		<-release
		return nil
	}}})
	ctx := context.Background()
	done := make(chan struct{})
	go func() { s.RunDue(ctx, start.Add(time.Minute)); close(done) }()
	<-started
	// due again while the first run has not returned: skipped
	if ran := s.RunDue(ctx, start.Add(2*time.Minute)); len(ran) != 0 {
		t.Fatalf("ran %v while still running", ran)
	}
	close(release)
	<-done
	if ran := s.RunDue(ctx, start.Add(3*time.Minute)); len(ran) != 1 {
		t.Fatalf("after finishing, ran %v", ran)
	}
	if n.Load() != 2 {
		t.Fatalf("runs = %d, want 2", n.Load())
	}
}

func TestSchedulerJitterIsStableAndBounded(t *testing.T) {
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	s := NewScheduler(clk.Now, discard(), 1, nil)
	var jobs []Job
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		jobs = append(jobs, Job{Key: k, Spec: "@every 5m", Jitter: 30 * time.Second, Run: func(context.Context, time.Time) error { return nil }})
	}
	s.Set(jobs)
	distinct := map[time.Time]bool{}
	for _, j := range jobs {
		n, _ := s.NextOf(j.Key)
		if n.Before(start.Add(5*time.Minute)) || !n.Before(start.Add(5*time.Minute+30*time.Second)) {
			t.Fatalf("%s next %v outside [5m, 5m30s)", j.Key, n)
		}
		distinct[n] = true
	}
	if len(distinct) < 3 {
		t.Fatalf("jitter did not spread jobs: %v", distinct)
	}
	// a reload with the same specs keeps the times; a changed spec reschedules
	before, _ := s.NextOf("a")
	jobs[1].Spec = "@every 1h"
	s.Set(jobs)
	if after, _ := s.NextOf("a"); !after.Equal(before) {
		t.Fatalf("unchanged job rescheduled: %v -> %v", before, after)
	}
	if nb, _ := s.NextOf("b"); nb.Before(start.Add(time.Hour)) {
		t.Fatalf("changed job not rescheduled: %v", nb)
	}
	// removed jobs stop
	s.Set(jobs[:2])
	if _, ok := s.NextOf("f"); ok {
		t.Fatal("removed job still scheduled")
	}
}

func TestSchedulerRejectsBadSpec(t *testing.T) {
	s := NewScheduler(time.Now, discard(), 1, nil)
	err := s.Set([]Job{{Key: "x", Spec: "every five minutes"}})
	if err == nil {
		t.Fatal("bad spec accepted")
	}
}

func TestSchedulerLoopStopsOnCancel(t *testing.T) {
	s := NewScheduler(time.Now, discard(), 1, nil)
	s.Set([]Job{{Key: "x", Spec: "@every 1h", Run: func(context.Context, time.Time) error { return nil }}})
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	cancel()
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("loop did not stop")
	}
}
