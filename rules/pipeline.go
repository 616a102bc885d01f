package rules

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// RunPipeline feeds an engine from next (each call returns the replies up to
// a virtual time, that time, and false at the end) and evaluates at each
// time, calling done with the events, in order. The replies of a batch
// are copied before next is called again, so next may reuse its slice.
// The events are those that Ingest then Evaluate at each time would give;
// only the work is arranged differently:
//
//   - the next batches are read and normalised on their own goroutine while
//     the rules work on the current one;
//   - each rule runs on its own goroutine, observing a batch and evaluating
//     at its time, and may be a few batches ahead of the others; the alert
//     lifecycle takes a time's findings once every rule has reported them.
//
// Rules are independent of one another, so no rule waits for another
// between batches: with the rules in step, every batch ended with the
// slowest rule (repeated_narrative) working alone while the others waited
// for the evaluation. An engine that reads its replies from a store, keeps
// state or reads source health evaluates in step, as the daemon does.
func RunPipeline(ctx context.Context, eng *Engine, next func() ([]model.Reply, time.Time, bool),
	done func(at time.Time, replies int, events []model.Alert) error) error {
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan pipeBatch, 2)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		for {
			rs, at, ok := next()
			if !ok {
				return
			}
			select {
			case batches <- pipeBatch{eng.NormalizeBatch(rs), at}:
			case <-ctx.Done():
				return
			}
		}
	}()
	// On the way out the producer is stopped, then waited for: next
	// belongs to the caller once RunPipeline returns.
	defer wg.Wait()
	defer cancel()
	if eng.opts.Replies != nil || eng.opts.State != nil || eng.opts.Health != nil {
		return eng.runInStep(ctx, batches, done)
	}
	return eng.runAhead(ctx, batches, done)
}

type pipeBatch struct {
	items []Item
	at    time.Time
}

// runInStep ingests a batch, then evaluates, then takes the next batch.
func (e *Engine) runInStep(ctx context.Context, batches <-chan pipeBatch, done func(time.Time, int, []model.Alert) error) error {
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.IngestNormalized(b.items)
		events, err := e.Evaluate(ctx, b.at)
		if err != nil {
			return fmt.Errorf("evaluate at %s: %w", b.at.Format(time.RFC3339), err)
		}
		if err := done(b.at, len(b.items), events); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// ruleAhead is how many batches a rule may be ahead of the slowest one.
// A few are enough to keep the cores busy; each holds a batch's items.
const ruleAhead = 4

// runAhead runs every rule on its own goroutine (see RunPipeline). The
// engine's lock is held throughout: its detectors are not at one time
// until the run ends.
func (e *Engine) runAhead(ctx context.Context, batches <-chan pipeBatch, done func(time.Time, int, []model.Alert) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.restoreBeforeIngest()
	if err := e.restoreLocked(ctx); err != nil {
		return err
	}
	n := len(e.rules)
	ins := make([]chan *pipeBatch, n)
	outs := make([]chan []Finding, n)
	// On the way out, stop the goroutines, then wait for them.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for k, r := range e.rules {
		ins[k] = make(chan *pipeBatch, ruleAhead)
		outs[k] = make(chan []Finding, ruleAhead)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ins[k] {
				for i := range b.items {
					if it := &b.items[i]; r.match(it) {
						r.det.Observe(it)
					}
				}
				select {
				case outs[k] <- r.det.Evaluate(b.at):
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	// The dispatcher numbers each batch's replies and hands the batch to
	// every rule; the times go to the lifecycle below, in order.
	type step struct {
		at      time.Time
		replies int
	}
	steps := make(chan step, ruleAhead)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(steps)
		defer func() {
			for _, in := range ins {
				close(in)
			}
		}()
		for {
			var b pipeBatch
			select {
			case bb, ok := <-batches:
				if !ok {
					return
				}
				b = bb
			case <-ctx.Done():
				return
			}
			for i := range b.items {
				if b.items[i].Seq == 0 {
					e.localSeq++
					b.items[i].Seq = e.localSeq
				}
			}
			e.targets.number(b.items)
			e.observed += int64(len(b.items))
			for _, in := range ins {
				select {
				case in <- &b:
				case <-ctx.Done():
					return
				}
			}
			select {
			case steps <- step{b.at, len(b.items)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	findings := make([][]Finding, n)
	for st := range steps {
		for k := range outs {
			select {
			case findings[k] = <-outs[k]:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		events, err := e.conclude(ctx, st.at, findings)
		if err != nil {
			return fmt.Errorf("evaluate at %s: %w", st.at.Format(time.RFC3339), err)
		}
		if err := done(st.at, st.replies, events); err != nil {
			return err
		}
		clear(findings)
	}
	return ctx.Err()
}
