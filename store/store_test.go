package store

import (
	"context"

	"path/filepath"
	"reflect"

	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// clock is a settable time source for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// openTest opens a file database in t.TempDir (WAL needs a file) with a
// clock fixed at t0 unless moved.
func openTest(t *testing.T) (*DB, *clock) {
	t.Helper()
	c := &clock{t: t0}
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, c
}

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func reply(id string, created time.Time, author string) model.Reply {
	return model.Reply{
		Platform:  model.Mastodon,
		ID:        id,
		URL:       "https://example.social/@" + author + "/" + id,
		Kind:      model.KindReply,
		Target:    "jane-doe",
		Account:   "mastodon:@jane@parl.social",
		PostID:    "p1",
		ParentID:  "p1",
		CreatedAt: created,
		Text:      "reply " + id,
		Lang:      "en",
		Author:    model.Author{ID: "a-" + author, Handle: author + "@example.social", Name: author},
	}
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSaveRepliesIdempotent(t *testing.T) {
	ctx := context.Background()
	first := []model.Reply{reply("1", at(1), "ann"), reply("2", at(2), "bob"), reply("3", at(3), "ann")}
	edited := reply("2", at(2), "bob")
	edited.Text = "reply 2 (edited)"
	tests := []struct {
		name      string
		second    []model.Reply
		wantAdded int
		wantRows  int
		wantText  map[string]string
	}{
		{"same replies again", first, 0, 3, map[string]string{"mastodon:2": "reply 2"}},
		{"edited text wins", []model.Reply{edited}, 0, 3, map[string]string{"mastodon:2": "reply 2 (edited)"}},
		{"one new among old", []model.Reply{first[0], reply("4", at(4), "cy")}, 1, 4, map[string]string{"mastodon:4": "reply 4"}},
		{"duplicate within one call", []model.Reply{reply("5", at(5), "cy"), reply("5", at(5), "cy")}, 1, 4, nil},
		{"same id on another platform is another reply",
			[]model.Reply{func() model.Reply { r := first[0]; r.Platform = model.Bluesky; return r }()}, 1, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t)
			added, err := db.SaveReplies(ctx, first)
			if err != nil || added != 3 {
				t.Fatalf("first save: added %d, err %v; want 3, nil", added, err)
			}
			seqs := map[string]int64{}
			if _, err := db.ScanRepliesAfter(ctx, 0, 0, func(seq int64, r model.Reply) error { seqs[r.Key()] = seq; return nil }); err != nil {
				t.Fatal(err)
			}
			added, err = db.SaveReplies(ctx, tt.second)
			if err != nil {
				t.Fatal(err)
			}
			if added != tt.wantAdded {
				t.Errorf("second save added %d, want %d", added, tt.wantAdded)
			}
			if tt.name == "duplicate within one call" {
				tt.wantRows = 4
			}
			if got := countRows(t, db, "replies"); got != tt.wantRows {
				t.Errorf("%d reply rows, want %d", got, tt.wantRows)
			}
			for key, text := range tt.wantText {
				r, ok, err := db.Reply(ctx, key)
				if err != nil || !ok {
					t.Fatalf("Reply(%s): ok %v err %v", key, ok, err)
				}
				if r.Text != text {
					t.Errorf("Reply(%s).Text = %q, want %q", key, r.Text, text)
				}
			}
			// seq is assigned once: re-saved replies keep theirs
			if _, err := db.ScanRepliesAfter(ctx, 0, 0, func(seq int64, r model.Reply) error {
				if old, ok := seqs[r.Key()]; ok && old != seq {
					t.Errorf("%s: seq changed from %d to %d", r.Key(), old, seq)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReplyRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	est := time.FixedZone("EST", -5*3600)
	created := time.Date(2019, 3, 4, 5, 6, 7, 891234567, est)
	full := model.Reply{
		Platform: model.Bluesky, ID: "at://did:plc:abc/app.bsky.feed.post/3k2", URL: "https://bsky.app/profile/x/post/3k2",
		Kind: model.KindQuote, Target: "t-1", Account: "bluesky:jane.bsky.social", PostID: "at://did:plc:jane/app.bsky.feed.post/1",
		ParentID: "at://did:plc:jane/app.bsky.feed.post/0", CreatedAt: time.Date(2026, 11, 2, 8, 59, 59, 999999999, est),
		Text: "Ça ne va pas 🙄 <b>&amp;</b>\n\"quoted\" \x00 NUL", Lang: "fr",
		Author: model.Author{ID: "did:plc:abc", Handle: "x.bsky.social", Name: "X Ÿ", URL: "https://bsky.app/profile/x",
			CreatedAt: &created, Followers: 12, Following: 345, Posts: 6789, Bot: true, DefaultAvatar: true},
	}
	tests := []struct {
		name string
		r    model.Reply
	}{
		{"every field", full},
		{"author created_at unknown", func() model.Reply {
			r := full
			r.ID += "-2"
			r.Author.ID = "did:plc:def"
			r.Author.CreatedAt = nil
			return r
		}()},
		{"minimal", model.Reply{Platform: model.RSS, ID: "guid-1", CreatedAt: t0, Text: "x"}},
		{"author without id", func() model.Reply {
			r := full
			r.Platform, r.ID = model.HTML, "c-9"
			r.Author = model.Author{Name: "Anonymous coward", URL: "https://news.example/u/9"}
			return r
		}()},
		{"zero created time", model.Reply{Platform: model.RSS, ID: "guid-2", Text: "no date"}},
		{"author created_at is the zero time", func() model.Reply {
			r := full
			r.ID, r.Author.ID, r.Author.CreatedAt = "z", "zero", new(time.Time)
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.SaveReplies(ctx, []model.Reply{tt.r}); err != nil {
				t.Fatal(err)
			}
			got, ok, err := db.Reply(ctx, tt.r.Key())
			if err != nil || !ok {
				t.Fatalf("Reply: ok %v, err %v", ok, err)
			}
			want := tt.r
			want.CreatedAt = want.CreatedAt.UTC()
			if want.Author.CreatedAt != nil {
				c := want.Author.CreatedAt.UTC()
				want.Author.CreatedAt = &c
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
			}
			if !got.CreatedAt.IsZero() && got.CreatedAt.Location() != time.UTC {
				t.Errorf("CreatedAt location %v, want UTC", got.CreatedAt.Location())
			}
		})
	}
}

// Other packages' tests open ":memory:"; it has one connection, so a scan
// callback that writes must not deadlock on it.
func TestMemoryDatabase(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SaveReplies(ctx, []model.Reply{reply("1", at(1), "a"), reply("2", at(2), "b")}); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = db.ScanReplies(ctx, at(0), at(10), func(r model.Reply) error {
		n++
		if _, err := db.RepliesByKeys(ctx, []string{r.Key()}); err != nil {
			return err
		}
		return db.PutState(ctx, "seen/"+r.ID, []byte("1"))
	})
	if err != nil || n != 2 {
		t.Fatalf("n %d, err %v", n, err)
	}
	other, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, ok, _ := other.Reply(ctx, "mastodon:1"); ok {
		t.Error("two :memory: databases share data")
	}
}

func TestDayStart(t *testing.T) {
	day := int64(24 * time.Hour)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"midday", time.Date(2026, 11, 2, 13, 4, 5, 6, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		{"midnight", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		{"other zone, UTC day", time.Date(2026, 11, 2, 22, 0, 0, 0, time.FixedZone("EST", -5*3600)), time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)},
		{"before 1970", time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"zero time stays first", time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dayStart(toNanos(tt.in))
			if got != toNanos(tt.want) {
				t.Errorf("dayStart(%v) = %v, want %v", tt.in, fromNanos(got), tt.want)
			}
			if got > toNanos(tt.in) || (got != toNanos(tt.in) && toNanos(tt.in)-got >= day) {
				t.Errorf("dayStart(%v) = %v is not the start of its day", tt.in, fromNanos(got))
			}
		})
	}
}
