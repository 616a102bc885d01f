package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// manyReplies makes n replies whose created times repeat (i/3 minutes), so
// ties are exercised, saved in a shuffled order so ingest order differs
// from time order.
func manyReplies(n int) []model.Reply {
	rs := make([]model.Reply, n)
	for i := range rs {
		rs[i] = reply(fmt.Sprintf("r%05d", i), at(i/3), fmt.Sprintf("u%d", i%50))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(n, func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	return rs
}

func TestScanReplies(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	rs := manyReplies(2*scanPage + 501) // several pages
	if _, err := db.SaveReplies(ctx, rs); err != nil {
		t.Fatal(err)
	}
	seqOf := map[string]int64{}
	if _, err := db.ScanRepliesAfter(ctx, 0, 0, func(seq int64, r model.Reply) error { seqOf[r.Key()] = seq; return nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"all", time.Time{}, at(100000), len(rs)},
		{"half-open range", at(10), at(20), 30},
		{"from is inclusive, on a tie", at(0), at(1), 3},
		{"empty", at(5), at(5), 0},
		{"crosses page boundaries", at(300), at(800), 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []model.Reply
			err := db.ScanReplies(ctx, tt.from, tt.to, func(r model.Reply) error { got = append(got, r); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d replies, want %d", len(got), tt.want)
			}
			seen := map[string]bool{}
			for i, r := range got {
				if seen[r.Key()] {
					t.Fatalf("%s returned twice", r.Key())
				}
				seen[r.Key()] = true
				if r.CreatedAt.Before(tt.from) || !r.CreatedAt.Before(tt.to) {
					t.Fatalf("%s at %v outside [%v, %v)", r.Key(), r.CreatedAt, tt.from, tt.to)
				}
				if i == 0 {
					continue
				}
				p := got[i-1]
				if r.CreatedAt.Before(p.CreatedAt) || (r.CreatedAt.Equal(p.CreatedAt) && seqOf[r.Key()] < seqOf[p.Key()]) {
					t.Fatalf("out of order at %d: %s (%v, seq %d) after %s (%v, seq %d)", i,
						r.Key(), r.CreatedAt, seqOf[r.Key()], p.Key(), p.CreatedAt, seqOf[p.Key()])
				}
			}
		})
	}
	t.Run("callback error stops the scan", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := db.ScanReplies(ctx, time.Time{}, at(100000), func(model.Reply) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("err %v after %d calls, want stop after 1", err, calls)
		}
	})
	t.Run("callback may use the store", func(t *testing.T) {
		n := 0
		err := db.ScanReplies(ctx, at(0), at(400), func(r model.Reply) error {
			n++
			_, err := db.SaveReplies(ctx, []model.Reply{r}) // a write while scanning
			return err
		})
		if err != nil || n != 1200 {
			t.Errorf("n %d, err %v", n, err)
		}
	})
}

func TestScanRepliesAfter(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	rs := manyReplies(2500)
	if _, err := db.SaveReplies(ctx, rs); err != nil {
		t.Fatal(err)
	}
	// ingest order is save order
	var all []string
	last, err := db.ScanRepliesAfter(ctx, 0, 0, func(seq int64, r model.Reply) error { all = append(all, r.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		if all[i] != rs[i].ID {
			t.Fatalf("position %d: %s, want %s (save order)", i, all[i], rs[i].ID)
		}
	}
	tests := []struct{ limit int }{{1}, {7}, {999}, {1000}, {1001}, {2500}, {5000}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit=%d", tt.limit), func(t *testing.T) {
			var got []string
			var after, prev int64
			for pages := 0; ; pages++ {
				n := 0
				l, err := db.ScanRepliesAfter(ctx, after, tt.limit, func(seq int64, r model.Reply) error {
					if seq <= prev {
						t.Fatalf("seq %d after %d", seq, prev)
					}
					prev = seq
					n++
					got = append(got, r.ID)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if n > tt.limit {
					t.Fatalf("%d replies for limit %d", n, tt.limit)
				}
				if n == 0 {
					if l != after {
						t.Fatalf("empty page returned last %d, want %d", l, after)
					}
					break
				}
				after = l
			}
			if !reflect.DeepEqual(got, all) {
				t.Errorf("paged scan differs from full scan (%d vs %d)", len(got), len(all))
			}
			if after != last {
				t.Errorf("ended at %d, full scan at %d", after, last)
			}
		})
	}
	t.Run("new replies continue after the last seq", func(t *testing.T) {
		if _, err := db.SaveReplies(ctx, []model.Reply{rs[0], reply("new", at(-5), "z")}); err != nil {
			t.Fatal(err)
		}
		var got []string
		if _, err := db.ScanRepliesAfter(ctx, last, 0, func(_ int64, r model.Reply) error { got = append(got, r.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, []string{"new"}) {
			t.Errorf("after %d: %v, want [new]", last, got)
		}
	})
}

func TestRepliesByKeys(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	bsky := reply("at://did:plc:x/app.bsky.feed.post/1", at(1), "b")
	bsky.Platform = model.Bluesky
	if _, err := db.SaveReplies(ctx, []model.Reply{reply("1", at(1), "a"), reply("2", at(2), "a"), bsky}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		keys    []string
		want    []string
		wantErr bool
	}{
		{"in the order asked", []string{"mastodon:2", "mastodon:1"}, []string{"mastodon:2", "mastodon:1"}, false},
		{"missing left out", []string{"mastodon:9", "mastodon:1", "bluesky:1"}, []string{"mastodon:1"}, false},
		{"id with colons", []string{bsky.Key()}, []string{bsky.Key()}, false},
		{"none", nil, []string{}, false},
		{"malformed key", []string{"mastodon"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.RepliesByKeys(ctx, tt.keys)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			keys := []string{}
			for _, r := range got {
				keys = append(keys, r.Key())
			}
			if !reflect.DeepEqual(keys, tt.want) {
				t.Errorf("got %v, want %v", keys, tt.want)
			}
		})
	}
	if _, ok, err := db.Reply(ctx, "mastodon:404"); ok || err != nil {
		t.Errorf("missing reply: ok %v, err %v", ok, err)
	}
	if _, _, err := db.Reply(ctx, "nocolon"); err == nil {
		t.Error("malformed key: no error")
	}
}

func TestCountReplies(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	mk := func(id, target string, p model.Platform, created time.Time) model.Reply {
		r := reply(id, created, "a")
		r.Target, r.Platform = target, p
		return r
	}
	// t0 is 09:00 UTC
	rs := []model.Reply{
		mk("1", "ann", model.Mastodon, t0),                      // 09:00
		mk("2", "ann", model.Mastodon, t0.Add(59*time.Minute)),  // 09:59
		mk("3", "ann", model.Bluesky, t0.Add(10*time.Minute)),   // 09:10
		mk("4", "bob", model.Mastodon, t0.Add(30*time.Minute)),  // 09:30
		mk("5", "ann", model.Mastodon, t0.Add(60*time.Minute)),  // 10:00
		mk("6", "ann", model.Mastodon, t0.Add(-1*time.Minute)),  // 08:59
		mk("7", "bob", model.Mastodon, t0.Add(125*time.Minute)), // 11:05
		mk("8", "bob", model.Mastodon, time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC)),
	}
	if _, err := db.SaveReplies(ctx, rs); err != nil {
		t.Fatal(err)
	}
	b := func(target string, p model.Platform, start time.Time, n int) Bucket {
		return Bucket{Target: target, Platform: p, Start: start, Count: n}
	}
	h := func(hour int) time.Time { return time.Date(2026, 11, 2, hour, 0, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		from, to time.Time
		bucket   time.Duration
		want     []Bucket
	}{
		{"hourly", h(9), h(12), time.Hour, []Bucket{
			b("ann", model.Bluesky, h(9), 1), b("ann", model.Mastodon, h(9), 2), b("bob", model.Mastodon, h(9), 1),
			b("ann", model.Mastodon, h(10), 1), b("bob", model.Mastodon, h(11), 1)}},
		{"aligned to the epoch, not to from", h(9).Add(30 * time.Minute), h(10).Add(30 * time.Minute), time.Hour, []Bucket{
			b("ann", model.Mastodon, h(9), 1), b("bob", model.Mastodon, h(9), 1), b("ann", model.Mastodon, h(10), 1)}},
		{"daily", h(0), h(24), 24 * time.Hour, []Bucket{
			b("ann", model.Bluesky, h(0), 1), b("ann", model.Mastodon, h(0), 4), b("bob", model.Mastodon, h(0), 2)}},
		{"before 1970 floors", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour,
			[]Bucket{b("bob", model.Mastodon, time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), 1)}},
		{"empty range", h(12), h(13), time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.CountReplies(ctx, tt.from, tt.to, tt.bucket)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
	if _, err := db.CountReplies(ctx, h(0), h(1), 0); err == nil {
		t.Error("zero bucket: no error")
	}
}
