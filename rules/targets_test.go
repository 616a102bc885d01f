package rules

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Detectors find per-target state by the engine's target numbers
// (tidSlots) or, for items without one, by name: both ways give the same
// findings at every evaluation, over ten days of generated traffic in
// which groups empty and are removed, posts are forgotten, and targets
// come back.
func TestTargetNumbersChangeNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 50,000 generated replies")
	}
	rs, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	// ten virtual days at a twentieth of the benchmark's traffic: most of
	// the 1,000 targets are quiet for days at a time
	g := newBenchGen(50_000)
	steps := compareNumbered(t, rs, func() ([]model.Reply, time.Time, bool) { return g.step(5 * time.Minute) })
	if steps < 2000 {
		t.Fatalf("only %d evaluations", steps)
	}
}

// A target whose spike scope was dropped (after more than the baseline's
// days without replies) gets a new scope when it comes back, as it does
// when found by name: its hint must not lead to the dropped one.
func TestTargetNumbersAfterScopeDropped(t *testing.T) {
	rs, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	var rule []Rule
	for _, r := range rs {
		if r.Name() == "reply-spike-target" {
			rule = append(rule, r)
		}
	}
	e, err := NewEngine(rule, EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := e.rules[0].det.(*spikeDet)
	at := time.Date(2026, 9, 7, 10, 0, 0, 0, time.UTC)
	items := []Item{
		{Reply: model.Reply{Platform: model.Mastodon, ID: "1", Target: "mp-a", PostID: "p1", CreatedAt: at}},
		{Reply: model.Reply{Platform: model.Mastodon, ID: "2", Target: "mp-a", PostID: "p1", CreatedAt: at.Add(time.Minute)}},
	}
	var nums targetNums
	nums.number(items)
	d.Observe(&items[0])
	old := d.st.Scopes[scopeID{Target: "mp-a"}]
	d.dropScope(scopeID{Target: "mp-a"})
	d.Observe(&items[1])
	sc := d.st.Scopes[scopeID{Target: "mp-a"}]
	if sc == nil || sc == old {
		t.Fatalf("the reply after the drop went to the dropped scope (new scope %p, old %p)", sc, old)
	}
	if n := sc.Counts[d.slot(d.bucket(at))]; n != 1 {
		t.Errorf("new scope counts %d replies in the hour, want 1", n)
	}
}

// compareNumbered runs the rules' detectors twice on the batches from next,
// once on items numbered as the engine numbers them and once on items
// without numbers, failing at the first evaluation whose findings differ.
// It returns the number of evaluations.
func compareNumbered(t *testing.T, rs []Rule, next func() ([]model.Reply, time.Time, bool)) int {
	t.Helper()
	numbered, err := NewEngine(rs, EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	named, err := NewEngine(rs, EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var nums targetNums
	steps, fired := 0, 0
	for {
		batch, at, ok := next()
		if !ok {
			break
		}
		withNum := make([]Item, len(batch))
		for i := range batch {
			withNum[i] = Item{Reply: batch[i], Norm: defaultNormalize(batch[i].Text), Seq: int64(i + 1)}
		}
		nums.number(withNum)
		withName := slices.Clone(withNum)
		for i := range withName {
			withName[i].tid = 0
		}
		for k := range numbered.rules {
			a, b := numbered.rules[k], named.rules[k]
			for i := range withNum {
				if a.match(&withNum[i]) {
					a.det.Observe(&withNum[i])
					b.det.Observe(&withName[i])
				}
			}
			fa, fb := canonFindings(a.det.Evaluate(at)), canonFindings(b.det.Evaluate(at))
			if !reflect.DeepEqual(fa, fb) {
				t.Fatalf("%s at %s: findings differ\nby number: %+v\nby name:   %+v", a.rule.Name(), at, fa, fb)
			}
			fired += len(fa)
		}
		steps++
	}
	if fired == 0 {
		t.Fatal("no findings to compare")
	}
	return steps
}

// canonFindings sorts what the engine sorts before making an alert
// (alertOf): coordination lists reply ids and accounts in map order.
func canonFindings(fs []Finding) []Finding {
	for i := range fs {
		fs[i].ReplyIDs = sortedUnique(fs[i].ReplyIDs)
		fs[i].Accounts = sortedUnique(fs[i].Accounts)
	}
	return fs
}
