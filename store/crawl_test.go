package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

func TestSaveCrawl(t *testing.T) {
	ctx := context.Background()
	acct := model.Account{Platform: model.Mastodon, Handle: "@Jane@parl.social"}
	key := model.SourceKey("jane-doe", acct)
	health := func(cursor string, fails int) model.SourceHealth {
		return model.SourceHealth{SourceKey: key, Target: "jane-doe", Platform: model.Mastodon, Cursor: cursor,
			LastAttempt: at(10), LastSuccess: at(9).Add(123456789), ConsecutiveFailures: fails,
			LastError: "", NextCheck: at(15)}
	}
	post := model.Post{Platform: model.Mastodon, ID: "p1", URL: "https://parl.social/@jane/p1", Target: "jane-doe",
		Account: acct.Key(), CreatedAt: at(-60), Text: "My statement", ReplyCount: 3}
	bad := reply("", at(3), "x") // no id: fails inside the transaction, after the post was written

	db, _ := openTest(t)
	added, err := db.SaveCrawl(ctx, health("c1", 0), []model.Post{post}, []model.Reply{reply("1", at(1), "a"), reply("2", at(2), "b")})
	if err != nil || added != 2 {
		t.Fatalf("first crawl: added %d, err %v", added, err)
	}
	tests := []struct {
		name       string
		h          model.SourceHealth
		posts      []model.Post
		replies    []model.Reply
		wantErr    bool
		wantAdded  int
		wantCursor string
		wantRows   int
	}{
		{"failing reply rolls back everything", health("c2", 0),
			[]model.Post{{Platform: model.Mastodon, ID: "p2", CreatedAt: at(0)}}, []model.Reply{reply("3", at(3), "c"), bad},
			true, 0, "c1", 2},
		{"failing post rolls back everything", health("c2", 0),
			[]model.Post{{Platform: model.Mastodon}}, []model.Reply{reply("3", at(3), "c")}, true, 0, "c1", 2},
		{"empty source key", model.SourceHealth{Cursor: "c2"}, nil, nil, true, 0, "c1", 2},
		{"re-crawl adds only new", health("c2", 0), []model.Post{post}, []model.Reply{reply("2", at(2), "b"), reply("3", at(3), "c")},
			false, 1, "c2", 3},
		{"failure recorded without data", func() model.SourceHealth { h := health("c1", 4); h.LastError = "HTTP 503"; return h }(),
			nil, nil, false, 0, "c1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t)
			if _, err := db.SaveCrawl(ctx, health("c1", 0), []model.Post{post}, []model.Reply{reply("1", at(1), "a"), reply("2", at(2), "b")}); err != nil {
				t.Fatal(err)
			}
			added, err := db.SaveCrawl(ctx, tt.h, tt.posts, tt.replies)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if added != tt.wantAdded {
				t.Errorf("added %d, want %d", added, tt.wantAdded)
			}
			h, ok, err := db.SourceHealth(ctx, key)
			if err != nil || !ok {
				t.Fatalf("SourceHealth: ok %v err %v", ok, err)
			}
			if h.Cursor != tt.wantCursor {
				t.Errorf("cursor %q, want %q", h.Cursor, tt.wantCursor)
			}
			if !tt.wantErr && !reflect.DeepEqual(h, tt.h) {
				t.Errorf("health round trip:\n got %+v\nwant %+v", h, tt.h)
			}
			if got := countRows(t, db, "replies"); got != tt.wantRows {
				t.Errorf("%d replies, want %d", got, tt.wantRows)
			}
			if tt.wantErr && countRows(t, db, "posts") != 1 {
				t.Errorf("%d posts after a failed crawl, want 1", countRows(t, db, "posts"))
			}
		})
	}

	p, ok, err := db.Post(ctx, model.Mastodon, "p1")
	if err != nil || !ok || !reflect.DeepEqual(p, post) {
		t.Errorf("Post round trip: ok %v err %v\n got %+v\nwant %+v", ok, err, p, post)
	}
}

func TestSourceHealthList(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if _, ok, err := db.SourceHealth(ctx, "nope"); ok || err != nil {
		t.Fatalf("missing source: ok %v err %v", ok, err)
	}
	var want []model.SourceHealth
	for _, k := range []string{"b/x", "a/y", "c/z"} {
		h := model.SourceHealth{SourceKey: k, Target: strings.Split(k, "/")[0], Platform: model.RSS, LastAttempt: at(1)}
		if _, err := db.SaveCrawl(ctx, h, nil, nil); err != nil {
			t.Fatal(err)
		}
		want = append(want, h)
	}
	want[0], want[1] = want[1], want[0] // by key
	got, err := db.ListSourceHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestSyncTargets(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	ma := model.Account{Platform: model.Mastodon, Handle: "@jane@parl.social", Token: "s3cret-token"}
	rss := model.Account{Platform: model.RSS, URL: "https://jane.example/feed.xml", Schedule: "@every 10m"}
	jane := model.Target{ID: "jane", Name: "Jane Doe", Riding: "Ottawa Centre", Party: "X", Team: "comms-east",
		Tags: []string{"cabinet"}, Aliases: []string{"J. Doe"}, Accounts: []model.Account{ma, rss}}
	bob := model.Target{ID: "bob", Name: "Bob"}

	type state struct {
		id       string
		active   bool
		accounts int
		inactive int
	}
	steps := []struct {
		name    string
		targets []model.Target
		want    []state
	}{
		{"initial", []model.Target{jane, bob}, []state{{"bob", true, 0, 0}, {"jane", true, 2, 0}}},
		{"bob removed, jane loses a feed", []model.Target{{ID: "jane", Name: "Jane Doe", Accounts: []model.Account{ma}}},
			[]state{{"bob", false, 0, 0}, {"jane", true, 1, 1}}},
		{"bob back", []model.Target{jane, bob}, []state{{"bob", true, 0, 0}, {"jane", true, 2, 0}}},
		{"empty watchlist", nil, []state{{"bob", false, 0, 0}, {"jane", false, 0, 2}}},
	}
	for _, st := range steps {
		if err := db.SyncTargets(ctx, st.targets); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := db.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var states []state
		for _, g := range got {
			states = append(states, state{g.ID, g.Active, len(g.Accounts), len(g.InactiveAccounts)})
		}
		if !reflect.DeepEqual(states, st.want) {
			t.Errorf("%s: got %+v, want %+v", st.name, states, st.want)
		}
	}
	if err := db.SyncTargets(ctx, []model.Target{jane}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Targets(ctx)
	j := got[1]
	if j.Name != jane.Name || j.Riding != jane.Riding || j.Team != jane.Team ||
		!reflect.DeepEqual(j.Tags, jane.Tags) || !reflect.DeepEqual(j.Aliases, jane.Aliases) {
		t.Errorf("jane: %+v", j)
	}
	if len(j.Accounts) != 2 || j.Accounts[1].Schedule != "@every 10m" || j.Accounts[0].Token != "" {
		t.Errorf("jane's accounts: %+v", j.Accounts)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM accounts WHERE handle LIKE '%s3cret%' OR url LIKE '%s3cret%' OR schedule LIKE '%s3cret%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("token stored: n %d err %v", n, err)
	}
	if err := db.SyncTargets(ctx, []model.Target{{Name: "no id"}}); err == nil {
		t.Error("target without id: no error")
	}
}

func TestState(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	tests := []struct {
		name string
		put  []byte
		want []byte
	}{
		{"bytes", []byte{0, 1, 2, 255}, []byte{0, 1, 2, 255}},
		{"overwrite", []byte(`{"baseline":3.5}`), []byte(`{"baseline":3.5}`)},
		{"empty", []byte{}, []byte{}},
		{"nil is empty", nil, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.PutState(ctx, "rules/spike/x", tt.put); err != nil {
				t.Fatal(err)
			}
			got, ok, err := db.GetState(ctx, "rules/spike/x")
			if err != nil || !ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v ok %v err %v, want %v", got, ok, err, tt.want)
			}
		})
	}
	if _, ok, err := db.GetState(ctx, "missing"); ok || err != nil {
		t.Errorf("missing: ok %v err %v", ok, err)
	}
	if err := db.DeleteState(ctx, "rules/spike/x"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.GetState(ctx, "rules/spike/x"); ok {
		t.Error("deleted key still there")
	}
}

func TestPurgeRepliesBefore(t *testing.T) {
	ctx := context.Background()
	db, clk := openTest(t)
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }

	// day 0: old replies by "old" (only ever seen then) and "both"
	var old []model.Reply
	for i := range purgeChunk + 700 { // more than one chunk
		r := reply(fmt.Sprintf("o%d", i), day(0).Add(time.Duration(i)*time.Second), "old")
		if i%2 == 0 {
			r.Author = model.Author{ID: "a-both", Name: "both", Followers: 1}
		}
		old = append(old, r)
	}
	oldPost := model.Post{Platform: model.Mastodon, ID: "p-old", CreatedAt: day(-1)}
	if _, err := db.SaveCrawl(ctx, model.SourceHealth{SourceKey: "s"}, []model.Post{oldPost}, old); err != nil {
		t.Fatal(err)
	}
	// day 10: new replies by "new" and "both", under a post made before the cut
	clk.set(day(10))
	recent := []model.Reply{reply("n1", day(10), "new"), reply("n2", day(10), "both")}
	recent[1].Author = model.Author{ID: "a-both", Name: "both", Followers: 2}
	livePost := model.Post{Platform: model.Mastodon, ID: "p-live", CreatedAt: day(-2)}
	if _, err := db.SaveCrawl(ctx, model.SourceHealth{SourceKey: "s"}, []model.Post{livePost}, recent); err != nil {
		t.Fatal(err)
	}

	n, err := db.PurgeRepliesBefore(ctx, day(5))
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(old)) {
		t.Errorf("purged %d, want %d", n, len(old))
	}
	var keys []string
	if err := db.ScanReplies(ctx, time.Time{}, day(100), func(r model.Reply) error { keys = append(keys, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys, []string{"n1", "n2"}) {
		t.Errorf("left %v", keys)
	}
	var authors []string
	rows, err := db.SQL().Query(`SELECT id FROM authors ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		authors = append(authors, s)
	}
	rows.Close()
	if !reflect.DeepEqual(authors, []string{"a-both", "a-new"}) {
		t.Errorf("authors left %v, want [a-both a-new]", authors)
	}
	if _, ok, _ := db.Post(ctx, model.Mastodon, "p-old"); ok {
		t.Error("old post without replies kept")
	}
	if _, ok, _ := db.Post(ctx, model.Mastodon, "p-live"); !ok {
		t.Error("old post crawled after the cut was purged")
	}
	r, _, _ := db.Reply(ctx, "mastodon:n2")
	if r.Author.Followers != 2 {
		t.Errorf("kept author's signals: %+v", r.Author)
	}

	// A purged reply replayed as it was (same day, same author signals)
	// comes back with its author: the author cache must not believe the
	// purged author is still stored.
	clk.set(day(0))
	again := old[1]
	if _, err := db.SaveReplies(ctx, []model.Reply{again}); err != nil {
		t.Fatal(err)
	}
	got, _, _ := db.Reply(ctx, again.Key())
	if !reflect.DeepEqual(got.Author, again.Author) {
		t.Errorf("author after purge: %+v, want %+v", got.Author, again.Author)
	}
	if n, err := db.PurgeRepliesBefore(ctx, day(5)); n != 1 || err != nil {
		t.Errorf("second purge: %d, %v; want 1, nil", n, err)
	}
}

func TestConcurrentSaves(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	other, err := Open(ctx, db.path) // a second handle: contention across connections
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const writers, batches, per = 4, 20, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		h := db
		if w%2 == 1 {
			h = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var rs []model.Reply
				for i := range per {
					rs = append(rs, reply(fmt.Sprintf("w%d-b%d-%d", w, b, i), at(i), fmt.Sprintf("u%d", i%10)))
				}
				var err error
				if b%2 == 0 {
					_, err = h.SaveReplies(ctx, rs)
				} else {
					_, err = h.SaveCrawl(ctx, model.SourceHealth{SourceKey: fmt.Sprintf("w%d", w), Cursor: fmt.Sprint(b)}, nil, rs)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := countRows(t, db, "replies"); got != writers*batches*per {
		t.Errorf("%d replies, want %d", got, writers*batches*per)
	}
}

// A purge through one handle (or process) must reach the author cache of
// another: it learns through store_meta, not through memory.
func TestPurgeReachesOtherHandlesAuthorCache(t *testing.T) {
	ctx := context.Background()
	a, clk := openTest(t)
	b, err := Open(ctx, a.path, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := reply("1", t0, "ann")
	if _, err := a.SaveReplies(ctx, []model.Reply{r}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.PurgeRepliesBefore(ctx, t0.AddDate(0, 0, 2)); n != 1 || err != nil {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if got := countRows(t, a, "authors"); got != 0 {
		t.Fatalf("%d authors after purge", got)
	}
	if _, err := a.SaveReplies(ctx, []model.Reply{r}); err != nil {
		t.Fatal(err)
	}
	got, _, _ := a.Reply(ctx, r.Key())
	if !reflect.DeepEqual(got.Author, r.Author) {
		t.Errorf("author after another handle's purge: %+v, want %+v", got.Author, r.Author)
	}
}
