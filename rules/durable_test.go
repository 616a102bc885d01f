package rules_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules"
	"github.com/mpwatch/mpwatch/store"
)

// The store implements what the engine declares.
var (
	_ rules.ReplySource  = (*store.DB)(nil)
	_ rules.StateStore   = (*store.DB)(nil)
	_ rules.HealthSource = (*store.DB)(nil)
)

var base = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func hourlyReplies(target string, perHour, fromHour, toHour int, tag string) []model.Reply {
	var out []model.Reply
	for h := fromHour; h < toHour; h++ {
		for i := 0; i < perHour; i++ {
			at := base.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Hour/time.Duration(perHour))
			id := fmt.Sprintf("%s-%d-%d", tag, h, i)
			out = append(out, model.Reply{Platform: model.Mastodon, ID: id, Target: target, PostID: fmt.Sprintf("p%d", h),
				CreatedAt: at, Text: "reply " + id, Author: model.Author{ID: "a" + id, Handle: "a" + id}})
		}
	}
	return out
}

// TestDurableNoRefire: an engine evaluates from the store and fires; a new
// engine on the same database (a restart) neither re-reads the replies nor
// re-fires, and carries the alert's lifecycle on.
func TestDurableNoRefire(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mpwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := rules.Parse("durable.yaml", []byte(`
rules:
  - name: spike
    type: spike
    threshold_cur: 30
    resolve_after: 2h
`))
	if err != nil {
		t.Fatal(err)
	}
	save := func(rs []model.Reply) {
		t.Helper()
		if _, err := db.SaveReplies(ctx, rs); err != nil {
			t.Fatalf("save replies: %v", err)
		}
	}
	newEngine := func() *rules.Engine {
		e, err := rules.NewEngine(rs, rules.EngineOptions{Replies: db, State: db, Health: db})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	evaluate := func(e *rules.Engine, at time.Time) []model.Alert {
		t.Helper()
		as, err := e.Evaluate(ctx, at)
		if err != nil {
			t.Fatalf("evaluate: %v", err)
		}
		return as
	}
	save(hourlyReplies("mp-a", 4, 0, 48, "bg"))
	save(hourlyReplies("mp-a", 60, 48, 49, "spike")[:40])
	e1 := newEngine()
	now := base.Add(48*time.Hour + 40*time.Minute)
	got := evaluate(e1, now)
	if len(got) != 1 || got[0].Status != model.StatusFiring || got[0].Seq != 1 {
		t.Fatalf("first engine: %+v", got)
	}
	key := got[0].Key

	// restart: same data, same clock → nothing new
	e2 := newEngine()
	if again := evaluate(e2, now); len(again) != 0 {
		t.Fatalf("restart re-fired: %+v", again)
	}
	if n := e2.Observed(); n != 0 {
		t.Fatalf("restart re-read %d replies; the seq cursor was not restored", n)
	}
	// the spike grows: the restored baseline and alert carry on as updated #2
	save(hourlyReplies("mp-a", 60, 48, 49, "spike")[40:])
	got = evaluate(e2, base.Add(48*time.Hour+59*time.Minute))
	if len(got) != 1 || got[0].Status != model.StatusUpdated || got[0].Seq != 2 || got[0].Key != key {
		t.Fatalf("after restart: %+v", got)
	}
	if got[0].Metrics["count"] != 60 || got[0].Metrics["baseline"] != 4 {
		t.Fatalf("restored counts: %v", got[0].Metrics)
	}
	// and resolves once, even across another restart
	e3 := newEngine()
	got = evaluate(e3, base.Add(51*time.Hour))
	if len(got) != 1 || got[0].Status != model.StatusResolved || got[0].Seq != 3 {
		t.Fatalf("resolve: %+v", got)
	}
	if again := evaluate(newEngine(), base.Add(52*time.Hour)); len(again) != 0 {
		t.Fatalf("resolved twice: %+v", again)
	}
}
