package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

func openOutboxDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var obT0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func TestEnqueueRecordsEachEventOnce(t *testing.T) {
	db := openOutboxDB(t)
	ctx := context.Background()
	ev := model.OutboxEvent{Alert: model.Alert{Key: "k", Seq: 1, Status: model.StatusFiring, Targets: []string{"mp-a"}},
		Notes: []model.OutboxNote{{Receiver: "r", GroupKey: "g", State: "pending", FirstFlush: obT0.Add(30 * time.Second), Interval: 5 * time.Minute}}}
	for i, want := range []int{1, 0} {
		n, err := db.Enqueue(ctx, obT0, []model.OutboxEvent{ev})
		if err != nil || n != want {
			t.Fatalf("enqueue %d: %d %v", i, n, err)
		}
	}
	counts, _ := db.NoteCounts(ctx)
	if counts["pending"] != 1 {
		t.Fatalf("notes %v", counts)
	}
	gs, err := db.DueGroups(ctx, obT0.Add(30*time.Second), 10)
	if err != nil || len(gs) != 1 || !gs[0].NextFlushAt.Equal(obT0.Add(30*time.Second)) {
		t.Fatalf("groups %+v %v", gs, err)
	}
	as, err := db.ActiveAlerts(ctx, "mp-a")
	if err != nil || len(as) != 1 {
		t.Fatalf("active %v %v", as, err)
	}
	// an older event arriving late does not replace the newer state
	res := ev
	res.Alert.Seq, res.Alert.Status = 3, model.StatusResolved
	old := ev
	old.Alert.Seq, old.Alert.Status = 2, model.StatusUpdated
	if _, err := db.Enqueue(ctx, obT0, []model.OutboxEvent{res, old}); err != nil {
		t.Fatal(err)
	}
	if as, _ := db.ActiveAlerts(ctx, "mp-a"); len(as) != 0 {
		t.Fatalf("resolved alert still active: %+v", as)
	}
}

func TestClaimIsExclusiveAndOrderedPerGroup(t *testing.T) {
	db := openOutboxDB(t)
	ctx := context.Background()
	for i := range 60 {
		g := fmt.Sprintf("g%d", i%30) // two deliveries per group
		if _, err := db.AddDelivery(ctx, obT0, model.OutboxDelivery{Receiver: "r", GroupKey: g, Kind: "alert", Message: []byte(`{}`)}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				ds, err := db.ClaimDeliveries(ctx, obT0, time.Minute, 5)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 30 {
		t.Fatalf("claimed %d deliveries; want the first of each of 30 groups", len(seen))
	}
	for id, n := range seen {
		if n != 1 || id > 30 {
			t.Fatalf("delivery %d claimed %d times", id, n)
		}
	}
	// the second of a group becomes due once the first is sent
	if err := db.MarkSent(ctx, 1, obT0, "r", "ts-1", []string{"k"}); err != nil {
		t.Fatal(err)
	}
	ds, err := db.ClaimDeliveries(ctx, obT0, time.Minute, 100)
	if err != nil || len(ds) != 1 || ds[0].ID != 31 {
		t.Fatalf("after sending #1: %+v %v", ds, err)
	}
	if err := db.MarkSent(ctx, 31, obT0.Add(time.Minute), "r", "ts-31", []string{"k"}); err != nil {
		t.Fatal(err)
	}
	th, err := db.Threads(ctx, "r", []string{"k", "other"})
	if err != nil || len(th) != 1 || th["k"].Ref != "ts-1" || !th["k"].LastSentAt.Equal(obT0.Add(time.Minute)) {
		t.Fatalf("threads %+v %v", th, err)
	}
}

func TestSilencesStore(t *testing.T) {
	db := openOutboxDB(t)
	ctx := context.Background()
	s := model.Silence{ID: "s1", Matchers: []model.SilenceMatcher{{Name: "target", Value: "mp-a"}}, StartsAt: obT0, EndsAt: obT0.Add(4 * time.Hour),
		Author: "lee", Reason: "known", CreatedAt: obT0}
	if err := db.AddSilence(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSilence(ctx, s); err == nil {
		t.Fatal("duplicate id accepted")
	}
	got, err := db.Silences(ctx)
	if err != nil || len(got) != 1 || got[0].Matchers[0] != s.Matchers[0] || !got[0].EndsAt.Equal(s.EndsAt) || got[0].Author != "lee" {
		t.Fatalf("%+v %v", got, err)
	}
	if ok, err := db.ExpireSilence(ctx, "s1", obT0.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("expire: %v %v", ok, err)
	}
	if ok, _ := db.ExpireSilence(ctx, "s1", obT0.Add(2*time.Hour)); ok {
		t.Fatal("expired twice")
	}
}
