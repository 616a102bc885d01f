package youtube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

const (
	channel = "UCj4nEwMpChannel00000001"
	apiKey  = "AIzaSyDistinctiveTESTkey_0123456789abcd"
	page2   = "QURTSl9pM3RfMm1sSUdCRmE2SXZmV3pWbXc0QW1ONmNtVHM4ZVprcGd0Z0RodkZ0"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeYT serves the fixtures like the Data API v3: the key from the
// X-Goog-Api-Key header or key=, Google error bodies, pageToken paging.
type fakeYT struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	reqs     []*http.Request
	override func(r *http.Request) (int, []byte, bool)
}

func newFake(t *testing.T) *fakeYT {
	f := &fakeYT{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeYT) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Clone(context.Background()))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	reply := func(status int, name string) {
		w.WriteHeader(status)
		_, _ = w.Write(fixture(f.t, name))
	}
	if f.override != nil {
		if st, body, ok := f.override(r); ok {
			w.WriteHeader(st)
			_, _ = w.Write(body)
			return
		}
	}
	q := r.URL.Query()
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = q.Get("key")
	}
	switch {
	case key == "":
		reply(403, "error_key_missing.json")
		return
	case key != apiKey:
		reply(400, "error_key_invalid.json")
		return
	}
	switch r.URL.Path {
	case "/youtube/v3/commentThreads":
		if q.Get("part") != "snippet,replies" {
			w.WriteHeader(400)
			return
		}
		switch {
		case q.Get("allThreadsRelatedToChannelId") == channel && q.Get("pageToken") == page2:
			reply(200, "threads_channel_page2.json")
		case q.Get("allThreadsRelatedToChannelId") == channel:
			reply(200, "threads_channel_page1.json")
		case q.Get("videoId") == "dQw4w9WgXcQ" && q.Get("pageToken") == "":
			reply(200, "threads_channel_page1.json")
		case q.Get("videoId") == "dQw4w9WgXcQ":
			reply(200, "threads_empty.json")
		case q.Get("videoId") == "offVideo001":
			reply(403, "error_comments_disabled.json")
		default:
			reply(404, "error_video_not_found.json")
		}
	case "/youtube/v3/comments":
		if q.Get("parentId") == "UgxR5tY6uI7oP8aS9dF0gAaABAg" {
			reply(200, "comments_replies.json")
			return
		}
		reply(200, "comments_empty.json")
	default:
		w.WriteHeader(404)
	}
}

func (f *fakeYT) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func newSource(t *testing.T, f *fakeYT, log *slog.Logger) *Source {
	t.Helper()
	cl, err := crawler.NewClient(crawler.Options{NoDelay: true, MaxRetries: 1,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Now:   func() time.Time { return now }, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return New(cl, Options{BaseURL: f.srv.URL + "/youtube/v3", Logger: log})
}

func request(cursor string) crawler.Request {
	return crawler.Request{
		Target:  model.Target{ID: "mp-jane-doe", Name: "Jane Doe"},
		Account: model.Account{Platform: model.YouTube, Handle: channel, Token: model.Secret(apiKey)},
		Cursor:  cursor,
		Now:     now,
	}
}

func ids(rs []model.Reply) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ID)
	}
	return strings.Join(s, " ")
}

func TestParseThreads(t *testing.T) {
	ref := Ref{Target: "mp-jane-doe", Account: channel, Channel: channel}
	tp, err := ParseThreads(fixture(t, "threads_channel_page1.json"), ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Threads) != 2 || tp.NextPageToken != page2 {
		t.Fatalf("page %+v", tp)
	}
	th := tp.Threads[0]
	want := model.Reply{
		Platform: model.YouTube, ID: "UgzK8pQ2vW4nR7tY1xAaABAg",
		URL:  "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzK8pQ2vW4nR7tY1xAaABAg",
		Kind: model.KindReply, Target: "mp-jane-doe", Account: channel, PostID: "dQw4w9WgXcQ", ParentID: "dQw4w9WgXcQ",
		CreatedAt: time.Date(2026, 11, 28, 11, 2, 45, 0, time.UTC),
		Text:      "Stop lying to us. Everyone knows who you really work for.",
		Author: model.Author{ID: "UCa1b2c3d4e5f6g7h8i9j0kL", Handle: "@jordanpike-x7q", Name: "@jordanpike-x7q",
			URL: "http://www.youtube.com/@jordanpike-x7q"},
	}
	if fmt.Sprintf("%+v", th.Top) != fmt.Sprintf("%+v", want) {
		t.Errorf("top\n got %+v\nwant %+v", th.Top, want)
	}
	// The channel's own reply is left out.
	if len(th.Replies) != 1 || th.Replies[0].ParentID != th.ID || th.Replies[0].Author.ID != "UCz9y8x7w6v5u4t3s2r1q0pO" ||
		th.Replies[0].Text != "@jordanpike-x7q 给我们一个解释！" || th.TotalReplies != 2 {
		t.Errorf("thread 1 replies %+v", th.Replies)
	}
	if tp.Threads[1].TotalReplies != 3 || len(tp.Threads[1].Replies) != 1 || tp.Threads[1].Top.Text != "Finally someone is doing something about rents & prices." {
		t.Errorf("thread 2 %+v", tp.Threads[1])
	}
	if _, err := ParseThreads(fixture(t, "comments_replies.json"), ref); err == nil {
		t.Error("a commentListResponse was taken for threads")
	}
}

func TestCrawlChannel(t *testing.T) {
	f := newFake(t)
	src := newSource(t, f, nil)
	res, err := src.Crawl(context.Background(), request(""))
	if err != nil {
		t.Fatal(err)
	}
	want := "UgzK8pQ2vW4nR7tY1xAaABAg UgzK8pQ2vW4nR7tY1xAaABAg.A1bC2dE3fG4A1bC2dE3fG5 " +
		"UgxR5tY6uI7oP8aS9dF0gAaABAg UgxR5tY6uI7oP8aS9dF0gAaABAg.A1cD2eF3gH4A1cD2eF3gH5 " +
		"UgxR5tY6uI7oP8aS9dF0gAaABAg.A1cD2eF3gH4A1cD2eF3gH6 UgxR5tY6uI7oP8aS9dF0gAaABAg.A1cD2eF3gH4A1cD2eF3gH7 " +
		"UgyO1pA2sD3fG4hJ5kL6AaABAg"
	if got := ids(res.Replies); got != want {
		t.Errorf("replies\n got %s\nwant %s", got, want)
	}
	for _, r := range res.Replies {
		if r.PostID == "" || r.Target != "mp-jane-doe" || r.Platform != model.YouTube || r.URL == "" {
			t.Errorf("reply %+v", r)
		}
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Errorf("%d calls (quota units), want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.URL.Query().Has("key") || r.Header.Get("X-Goog-Api-Key") != apiKey {
			t.Errorf("key not sent as header only: %s", r.URL)
		}
	}
	cur, _ := decodeCursor(res.Cursor)
	if n := cur.Newest["channel:"+channel]; !n.Equal(time.Date(2026, 11, 28, 11, 30, 0, 0, time.UTC)) {
		t.Errorf("cursor newest %v", n)
	}

	// Second crawl: page 1 reaches the mark, so paging stops there; only the
	// reply at the mark itself comes back (equal times are kept).
	res2, err := src.Crawl(context.Background(), request(res.Cursor))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.requests()) != 4 {
		t.Errorf("second crawl made %d calls, want 1", len(f.requests())-3)
	}
	if got := ids(res2.Replies); got != "UgzK8pQ2vW4nR7tY1xAaABAg.A1bC2dE3fG4A1bC2dE3fG5" {
		t.Errorf("second crawl replies %s", got)
	}
}

func TestCrawlVideosCommentsDisabled(t *testing.T) {
	f := newFake(t)
	src := newSource(t, f, nil)
	req := request("")
	req.Account.Handle = ""
	req.Account.Options = map[string]string{"video_ids": "dQw4w9WgXcQ, offVideo001"}
	res, err := src.Crawl(context.Background(), req)
	if err != nil {
		t.Fatalf("a video with comments off must not fail the others: %v", err)
	}
	if len(res.Replies) != 6 {
		t.Errorf("%d replies: %s", len(res.Replies), ids(res.Replies))
	}
	cur, _ := decodeCursor(res.Cursor)
	if !cur.Disabled["video:offVideo001"].Equal(now) {
		t.Errorf("disabled state not recorded: %+v", cur)
	}
	for _, r := range f.requests() {
		if v := r.URL.Query().Get("videoId"); r.URL.Path == "/youtube/v3/commentThreads" && v == "" {
			t.Errorf("channel-wide request in per-video mode: %s", r.URL)
		}
	}

	// Within a day the disabled video is not asked again.
	n := len(f.requests())
	req.Cursor = res.Cursor
	if _, err := src.Crawl(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.requests()[n:] {
		if r.URL.Query().Get("videoId") == "offVideo001" {
			t.Error("disabled video asked again within a day")
		}
	}

	// Only disabled videos: a distinct, clear state.
	req = request("")
	req.Account.Handle = ""
	req.Account.Options = map[string]string{"video_ids": "offVideo001"}
	_, err = src.Crawl(context.Background(), req)
	if !errors.Is(err, ErrCommentsDisabled) || crawler.KindOf(err) != crawler.KindForbiddenByRobots ||
		!strings.Contains(err.Error(), "comments are turned off") {
		t.Errorf("err = %v", err)
	}
}

func TestQuotaExceeded(t *testing.T) {
	f := newFake(t)
	f.override = func(r *http.Request) (int, []byte, bool) { return 403, fixture(t, "error_quota_exceeded.json"), true }
	src := newSource(t, f, nil)
	res, err := src.Crawl(context.Background(), request(""))
	var ce *crawler.Error
	if !errors.Is(err, ErrQuotaExceeded) || !errors.As(err, &ce) || ce.Kind != crawler.KindRateLimited {
		t.Fatalf("err = %v", err)
	}
	// 12:00 UTC is 04:00 PST; the quota comes back at 08:00 UTC tomorrow.
	if ce.RetryAfter != 20*time.Hour || !strings.Contains(err.Error(), "midnight Pacific time (2026-11-29 08:00 UTC)") {
		t.Errorf("retry after %v: %v", ce.RetryAfter, err)
	}
	if strings.Contains(err.Error(), "<a href") {
		t.Errorf("html left in %v", err)
	}
	// The next crawl before the reset makes no call at all.
	n := len(f.requests())
	_, err = src.Crawl(context.Background(), request(res.Cursor))
	if !errors.Is(err, ErrQuotaExceeded) || len(f.requests()) != n {
		t.Errorf("err %v, %d calls while the quota is out", err, len(f.requests())-n)
	}
	// After the reset it calls again.
	f.override = nil
	req := request(res.Cursor)
	req.Now = now.Add(21 * time.Hour)
	if _, err := src.Crawl(context.Background(), req); err != nil || len(f.requests()) == n {
		t.Errorf("after reset: %v", err)
	}
}

func TestQuotaResetDST(t *testing.T) {
	// In July Los Angeles is on PDT (UTC-7).
	got := quotaReset(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 7, 2, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("reset %v, want %v", got, want)
	}
}

func TestCrawlErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		fixture  string
		videos   string
		key      string
		kind     crawler.Kind
		contains string
	}{
		{"key invalid", 0, "", "", "AIzaWRONGkey", crawler.KindAuth, "rejected the API key (API_KEY_INVALID)"},
		{"key invalid legacy", 400, "error_key_invalid_legacy.json", "", apiKey, crawler.KindAuth, "rejected the API key (keyInvalid)"},
		{"key missing", 403, "error_key_missing.json", "", apiKey, crawler.KindAuth, "check the API key"},
		{"api not enabled", 403, "error_api_not_enabled.json", "", apiKey, crawler.KindAuth, "not enabled"},
		{"video not found", 0, "", "goneVideo01", apiKey, crawler.KindNotFound, "videoNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			if tc.fixture != "" {
				f.override = func(r *http.Request) (int, []byte, bool) { return tc.status, fixture(t, tc.fixture), true }
			}
			src := newSource(t, f, nil)
			req := request("")
			req.Account.Token = model.Secret(tc.key)
			if tc.videos != "" {
				req.Account.Options = map[string]string{"video_ids": tc.videos}
			}
			_, err := src.Crawl(context.Background(), req)
			if crawler.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("kind %v err %v", crawler.KindOf(err), err)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Errorf("no APIError in %v", err)
			}
		})
	}
	t.Run("no key configured", func(t *testing.T) {
		f := newFake(t)
		src := newSource(t, f, nil)
		req := request("")
		req.Account.Token = ""
		_, err := src.Crawl(context.Background(), req)
		if crawler.KindOf(err) != crawler.KindAuth || !strings.Contains(err.Error(), "no API key") || len(f.requests()) != 0 {
			t.Errorf("err %v", err)
		}
	})
}

func TestRedactURL(t *testing.T) {
	got := redactURL("https://www.googleapis.com/youtube/v3/commentThreads?part=snippet&key=" + apiKey)
	if strings.Contains(got, apiKey) || !strings.Contains(got, "key=REDACTED") {
		t.Errorf("redactURL = %q", got)
	}
}

func TestKeyNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bodies := []struct {
		status int
		body   string
	}{
		{403, string(fixture(t, "error_quota_exceeded.json"))},
		{403, string(fixture(t, "error_comments_disabled.json"))},
		{400, string(fixture(t, "error_key_invalid.json"))},
		{400, `{"error":{"code":400,"message":"API key {{KEY}} not valid.","errors":[{"message":"key {{KEY}}","domain":"global","reason":"badRequest"}],"status":"INVALID_ARGUMENT"}}`},
		{401, `unauthorized: key={{KEY}}`},
		{200, `{"kind":"youtube#commentThreadListResponse","items":[{"id":"{{KEY}}"` /* truncated */},
	}
	for i, b := range bodies {
		f := newFake(t)
		f.override = func(r *http.Request) (int, []byte, bool) {
			return b.status, []byte(strings.ReplaceAll(b.body, "{{KEY}}", apiKey)), true
		}
		src := newSource(t, f, log)
		req := request("")
		req.Account.Options = map[string]string{"video_ids": "dQw4w9WgXcQ"}
		res, err := src.Crawl(context.Background(), req)
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v %#v", err, err), fmt.Sprintf("%+v", res)} {
			if strings.Contains(s, apiKey) {
				t.Errorf("case %d: key leaked: %s", i, s)
			}
		}
		log.Error("crawl failed", "error", err, "result", res)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	if strings.Contains(logs.String(), apiKey) {
		t.Errorf("key in logs:\n%s", logs.String())
	}
}

func BenchmarkParseThreads(b *testing.B) {
	body := fixture(b, "threads_channel_page1.json")
	ref := Ref{Target: "mp-jane-doe", Account: channel, Channel: channel}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseThreads(body, ref); err != nil {
			b.Fatal(err)
		}
	}
}
