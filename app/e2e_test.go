package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/bluesky"
	"github.com/mpwatch/mpwatch/crawler/html"
	"github.com/mpwatch/mpwatch/crawler/mastodon"
	"github.com/mpwatch/mpwatch/crawler/rss"
	"github.com/mpwatch/mpwatch/internal/fakeplatform"
	"github.com/mpwatch/mpwatch/model"
)

// world is a set of simulated platforms with one MP on each source kind.
type world struct {
	masto *fakeplatform.Mastodon
	bsky  *fakeplatform.Bluesky
	web   *fakeplatform.Web

	mastoPost string
	bskyPost  string
	comments  []fakeplatform.Comment
	feed      []fakeplatform.FeedItem
}

func newWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	w := &world{masto: fakeplatform.NewMastodon(fakeplatform.MastodonOptions{}), bsky: fakeplatform.NewBluesky(), web: fakeplatform.NewWeb()}
	t.Cleanup(func() { w.masto.Close(); w.bsky.Close(); w.web.Close() })
	old := now.AddDate(-3, 0, 0)
	w.masto.AddAccount(fakeplatform.MastodonAccount{Username: "janedoe", DisplayName: "Jane Doe", CreatedAt: old, Followers: 5000})
	for _, u := range []string{"alice", "bob", "carol"} {
		w.masto.AddAccount(fakeplatform.MastodonAccount{Username: u, CreatedAt: old, Followers: 40})
	}
	w.mastoPost = w.masto.AddStatus("janedoe", now.Add(-3*time.Hour), "<p>Town hall tonight at 7.</p>")
	w.masto.AddReply(w.mastoPost, "alice", now.Add(-2*time.Hour), "<p>I will be there!</p>")
	w.masto.AddReply(w.mastoPost, "bob", now.Add(-110*time.Minute), "<p>What about the <b>bridge</b>?</p>")

	w.bsky.AddProfile(fakeplatform.BlueskyProfile{Handle: "janedoe.bsky.social", DisplayName: "Jane Doe", CreatedAt: old, Followers: 3000})
	for _, h := range []string{"dan.bsky.social", "erin.bsky.social"} {
		w.bsky.AddProfile(fakeplatform.BlueskyProfile{Handle: h, CreatedAt: old, Followers: 12})
	}
	w.bskyPost = w.bsky.AddPost("janedoe.bsky.social", now.Add(-4*time.Hour), "New housing plan announced")
	w.bsky.AddReply(w.bskyPost, "dan.bsky.social", now.Add(-3*time.Hour), "Finally, good news")

	w.comments = []fakeplatform.Comment{
		{ID: "c1", Author: "Frank", Time: now.Add(-5 * time.Hour), HTML: "Great speech, Jane."},
		{ID: "c2", Author: "Gina", Time: now.Add(-4 * time.Hour), HTML: "When is the next meeting?"},
	}
	w.web.Set("/updates", "text/html; charset=utf-8", fakeplatform.CommentsPage("Updates", w.comments, ""))
	w.feed = []fakeplatform.FeedItem{
		{GUID: "n1", Title: "Council vote", Link: w.web.URL() + "/news/1", Published: now.Add(-6 * time.Hour), HTML: "Jane Doe voted for the new budget."},
		{GUID: "n2", Title: "Weather", Link: w.web.URL() + "/news/2", Published: now.Add(-5 * time.Hour), HTML: "Rain all week."},
	}
	w.web.Set("/feed.xml", "application/rss+xml", fakeplatform.RSS("News", w.web.URL(), w.feed))
	return w
}

func (w *world) config(t *testing.T, dir string) string {
	t.Helper()
	sel := fakeplatform.CommentSelectors
	cfg := fmt.Sprintf(`store: {path: mpwatch.db}
http: {listen: ""}
schedule: {jitter: 0s}
crawler: {delay: 0s, random_delay: 0s, timeout: 5s, max_retries: 1}
watchlists: []
rule_files: []
targets:
  - id: jane-doe
    name: Jane Doe
    team: federal
    accounts:
      - {platform: mastodon, handle: "@janedoe@%s"}
      - {platform: bluesky, handle: janedoe.bsky.social}
      - platform: html
        url: %s/updates
        html: {item: %q, id: %q, text: %q, author: %q, time: %q, time_layout: %q, link: %q, next: %q}
      - {platform: rss, url: %s/feed.xml}
`, w.masto.Host(), w.web.URL(), sel.Item, sel.ID, sel.Text, sel.Author, sel.Time, sel.TimeLayout, sel.Link, sel.Next, w.web.URL())
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (w *world) sources(c *crawler.Client) map[model.Platform]crawler.Source {
	return map[model.Platform]crawler.Source{
		model.Mastodon: mastodon.New(c, mastodon.Options{Scheme: "http"}),
		model.Bluesky:  bluesky.New(c, bluesky.Options{BaseURL: w.bsky.URL()}),
		model.HTML:     html.New(c, html.Options{}),
		model.RSS:      rss.New(c, rss.Options{}),
	}
}

func storedKeys(t *testing.T, a *App) []string {
	t.Helper()
	var keys []string
	err := a.DB().ScanReplies(context.Background(), time.Time{}, time.Now().Add(time.Hour), func(r model.Reply) error {
		keys = append(keys, fmt.Sprintf("%s/%s/%s", r.Platform, r.Kind, r.Text))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

// TestOnceEndToEnd runs `monitor once` against simulated servers for all
// four sources: the first run finds exactly the replies that exist, a second
// run adds nothing, and a run after new replies appear adds only those.
func TestOnceEndToEnd(t *testing.T) {
	now := time.Now().UTC()
	w := newWorld(t, now)
	dir := t.TempDir()
	path := w.config(t, dir)
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	a, err := New(context.Background(), b, Options{IO: IO{Stdout: &stdout, Stderr: &stderr}, Logger: discard(), NoHTTP: true,
		Sources:       w.sources,
		ClientOptions: func(o *crawler.Options) { o.NoDelay = true }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()

	sum, err := a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Crawl.Failed != 0 {
		t.Fatalf("failed sources: %s", sum)
	}
	want := []string{
		"bluesky/reply/Finally, good news",
		"html/reply/Great speech, Jane.",
		"html/reply/When is the next meeting?",
		"mastodon/reply/I will be there!",
		"mastodon/reply/What about the bridge?",
		"rss/mention/Council vote\n\nJane Doe voted for the new budget.",
	}
	got := storedKeys(t, a)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stored after first run:\n%q\nwant\n%q", got, want)
	}
	if sum.Crawl.RepliesAdded != len(want) {
		t.Fatalf("added = %d, want %d", sum.Crawl.RepliesAdded, len(want))
	}

	// a second run finds nothing new
	sum, err = a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Crawl.RepliesAdded != 0 || len(storedKeys(t, a)) != len(want) {
		t.Fatalf("second run added %d: %s", sum.Crawl.RepliesAdded, sum)
	}

	// new replies on every source: only those are added
	w.masto.AddReply(w.mastoPost, "carol", now.Add(-10*time.Minute), "<p>See you there</p>")
	w.bsky.AddReply(w.bskyPost, "erin.bsky.social", now.Add(-5*time.Minute), "Where is the money coming from?")
	w.comments = append(w.comments, fakeplatform.Comment{ID: "c3", Author: "Hal", Time: now.Add(-time.Minute), HTML: "Thanks for coming by."})
	w.web.Set("/updates", "text/html; charset=utf-8", fakeplatform.CommentsPage("Updates", w.comments, ""))
	w.feed = append(w.feed, fakeplatform.FeedItem{GUID: "n3", Title: "Interview", Link: w.web.URL() + "/news/3", Published: now.Add(-time.Minute), HTML: "An interview with Jane Doe."})
	w.web.Set("/feed.xml", "application/rss+xml", fakeplatform.RSS("News", w.web.URL(), w.feed))

	sum, err = a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Crawl.RepliesAdded != 4 {
		t.Fatalf("third run added %d, want 4: %s", sum.Crawl.RepliesAdded, sum)
	}
	if n := len(storedKeys(t, a)); n != len(want)+4 {
		t.Fatalf("stored %d, want %d", n, len(want)+4)
	}
}

// TestOnceReportsFailingSource: a source that fails makes `once` fail, and
// the failure is recorded against that source only.
func TestOnceReportsFailingSource(t *testing.T) {
	now := time.Now().UTC()
	w := newWorld(t, now)
	w.web.Inject(fakeplatform.Fault{Path: "/feed.xml", Status: 500})
	path := w.config(t, t.TempDir())
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	a, err := New(context.Background(), b, Options{IO: IO{Stdout: &out, Stderr: &out}, Logger: discard(), NoHTTP: true,
		Sources: w.sources, ClientOptions: func(o *crawler.Options) { o.NoDelay = true; o.RetryBase = time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sum, err := a.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Crawl.Failed != 1 || sum.Crawl.NetworkDown {
		t.Fatalf("want exactly one failed source: %s", sum)
	}
	hs, err := a.DB().ListSourceHealth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		failing := h.Platform == model.RSS
		if failing != (h.ConsecutiveFailures > 0) {
			t.Fatalf("health %+v", h)
		}
		if failing && !strings.Contains(h.LastError, "feed.xml") {
			t.Fatalf("last error does not name the URL: %q", h.LastError)
		}
	}
	if !strings.Contains(sum.String(), "failed: jane-doe rss") {
		t.Fatalf("summary does not name the failing source:\n%s", sum)
	}
}

// TestStatusSurfaceOnARealStore serves the status surface from the app's
// own store adapter after a crawl: the page lists the target's sources and
// /metrics counts the crawl.
func TestStatusSurfaceOnARealStore(t *testing.T) {
	now := time.Now().UTC()
	w := newWorld(t, now)
	b, err := Load(w.config(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	a, err := New(context.Background(), b, Options{IO: IO{Stdout: &out, Stderr: &out}, Logger: discard(), NoHTTP: true,
		Sources: w.sources, ClientOptions: func(o *crawler.Options) { o.NoDelay = true }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.webHandler(a.ConfigStatus))
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	if body := get("/"); !strings.Contains(body, "Jane Doe") || !strings.Contains(body, "<svg") {
		t.Fatalf("status page lacks the target or its chart:\n%s", body)
	}
	if body := get("/metrics"); !strings.Contains(body, `mpwatch_replies_ingested_total{platform="mastodon"} 2`) {
		t.Fatalf("metrics do not count the crawl:\n%s", body)
	}
	get("/healthz")
}

// Detections further apart than a spike rule's timeframe leave buckets
// untested: the daemon says so in its log, once per such gap.
func TestDetectionGapIsLogged(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, now)
	b, err := Load(w.config(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	a, err := New(context.Background(), b, Options{IO: IO{Stdout: io.Discard, Stderr: io.Discard},
		Logger: slog.New(slog.NewJSONHandler(&log, nil)), NoHTTP: true, Sources: w.sources})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	for _, at := range []time.Duration{0, 5 * time.Minute, time.Hour + 5*time.Minute, 3*time.Hour + 5*time.Minute} {
		if _, err := a.detect(ctx, now.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	var warned []string
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["level"] == "WARN" && strings.HasPrefix(m["msg"].(string), "detections further apart") {
			warned = append(warned, fmt.Sprintf("%v %v %v", m["since_last_detection"], m["rule"], m["timeframe"]))
		}
	}
	// the default rules' spike timeframe is 1h: only the 2h gap is too long
	if want := []string{"7.2e+12 reply-spike-target 3.6e+12"}; strings.Join(warned, "|") != strings.Join(want, "|") {
		t.Errorf("warnings %q, want %q", warned, want)
	}
}
