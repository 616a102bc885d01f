package rules

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// memState is a StateStore in memory. An engine with one evaluates in step
// in RunPipeline, so it is also how the tests run the in-step path.
type memState struct{ dets, alerts map[string][]byte }

func (m *memState) LoadRulesState(context.Context) (map[string][]byte, map[string][]byte, error) {
	return m.dets, m.alerts, nil
}

func (m *memState) SaveRulesState(_ context.Context, dets, alerts map[string][]byte) error {
	if m.dets == nil {
		m.dets, m.alerts = map[string][]byte{}, map[string][]byte{}
	}
	for k, v := range dets {
		m.dets[k] = v
	}
	for k, v := range alerts {
		if v == nil {
			delete(m.alerts, k)
		} else {
			m.alerts[k] = v
		}
	}
	return nil
}

// pipelineEvents runs total generated replies through the shipped rules
// with RunPipeline and returns every event as a JSON line, with the time
// and reply count of the step that gave it.
func pipelineEvents(t *testing.T, total int, opts EngineOptions) []string {
	t.Helper()
	rs, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(rs, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := newBenchGen(total)
	// The generator reuses its slice: RunPipeline must copy the replies
	// before it asks for the next batch.
	next := func() ([]model.Reply, time.Time, bool) { return g.step(5 * time.Minute) }
	var out []string
	steps := 0
	err = RunPipeline(context.Background(), e, next, func(at time.Time, n int, as []model.Alert) error {
		steps++
		for _, a := range as {
			b, err := json.Marshal(struct {
				At      time.Time
				Replies int
				Alert   model.Alert
			}{at, n, a})
			if err != nil {
				return err
			}
			out = append(out, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if steps < 2880 {
		t.Fatalf("%d steps, want ten days or more of five minutes", steps)
	}
	if e.Observed() != int64(total) {
		t.Fatalf("observed %d replies of %d", e.Observed(), total)
	}
	return out
}

// With the rules each on its own goroutine and ahead of one another, the
// events must be exactly those of the rules evaluated in step: same
// events, same order, same evidence.
func TestRunPipelineAheadSameAsInStep(t *testing.T) {
	const total = 60_000
	ahead := pipelineEvents(t, total, EngineOptions{})
	// detector states are saved twice a virtual day: at every step, the
	// marshalling would be most of the test
	inStep := pipelineEvents(t, total, EngineOptions{State: &memState{}, StateEvery: 12 * time.Hour})
	rulesSeen := map[string]bool{}
	for _, l := range inStep {
		var ev struct{ Alert model.Alert }
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		rulesSeen[ev.Alert.Rule] = true
	}
	if len(rulesSeen) < 3 {
		t.Fatalf("events from %d rules (%v): the test needs several rules firing", len(rulesSeen), rulesSeen)
	}
	if len(ahead) != len(inStep) {
		t.Fatalf("%d events ahead, %d in step", len(ahead), len(inStep))
	}
	for i := range ahead {
		if ahead[i] != inStep[i] {
			t.Fatalf("event %d differs:\nahead   %s\nin step %s", i, ahead[i], inStep[i])
		}
	}
}

// A failing done, or a context cancelled mid-run, stops every goroutine and
// RunPipeline returns the error; next is not called after it returns.
func TestRunPipelineStops(t *testing.T) {
	rs, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop here")
	for _, tc := range []struct {
		name string
		opts EngineOptions
	}{{"ahead", EngineOptions{}}, {"in step", EngineOptions{State: &memState{}}}} {
		for _, how := range []string{"done", "cancel"} {
			e, err := NewEngine(rs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			g := newBenchGen(50_000)
			returned := false
			next := func() ([]model.Reply, time.Time, bool) {
				if returned {
					t.Errorf("%s/%s: next called after RunPipeline returned", tc.name, how)
				}
				b, at, ok := g.step(5 * time.Minute)
				return slices.Clone(b), at, ok
			}
			steps := 0
			err = RunPipeline(ctx, e, next, func(time.Time, int, []model.Alert) error {
				steps++
				if steps == 100 {
					if how == "done" {
						return stop
					}
					cancel()
				}
				return nil
			})
			returned = true
			cancel()
			want := stop
			if how == "cancel" {
				want = context.Canceled
			}
			if !errors.Is(err, want) {
				t.Errorf("%s/%s: err %v, want %v", tc.name, how, err, want)
			}
			if how == "done" && steps != 100 {
				t.Errorf("%s/%s: done called %d times after failing", tc.name, how, steps)
			}
			// the engine is free again
			e.Ingest(model.Reply{Platform: model.Mastodon, ID: "x", Target: "mp-001", CreatedAt: time.Now(), Text: "after"})
		}
	}
}
