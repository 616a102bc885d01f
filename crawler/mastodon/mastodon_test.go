package mastodon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/mastodon"
	"github.com/mpwatch/mpwatch/model"
)

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func newClient(t *testing.T, sl *sleeps, now time.Time) *crawler.Client {
	t.Helper()
	if sl == nil {
		sl = &sleeps{}
	}
	c, err := crawler.NewClient(crawler.Options{
		NoDelay: true, Timeout: 300 * time.Millisecond, MaxBodyBytes: 64 << 10, MaxRetries: 2,
		RetryBase: time.Millisecond, Sleep: sl.sleep, Now: func() time.Time { return now }, Contact: "ops@example.org",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// replay serves the GoToSocial captures with their recorded status and
// headers; the capture server's host is rewritten to the test server's, as
// a real server puts its own configured host in Link.
func replay(t *testing.T, routes map[string]string) *httptest.Server {
	srv, _ := replayLog(t, routes)
	return srv
}

func replayLog(t *testing.T, routes map[string]string) (*httptest.Server, *[]string) {
	t.Helper()
	var srv *httptest.Server
	var mu sync.Mutex
	var log []string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		log = append(log, r.URL.RequestURI())
		mu.Unlock()
		name, ok := routes[r.URL.Path]
		if q := r.URL.Query(); ok && q.Get("max_id") != "" {
			name = "empty"
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "empty" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[]`))
			return
		}
		status, hdr := readHeaders(t, filepath.Join("testdata", name+".headers"))
		body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Error(err)
			return
		}
		host := strings.TrimPrefix(srv.URL, "http://")
		for k, vs := range hdr {
			if k == "Content-Length" || k == "Transfer-Encoding" || k == "Date" {
				continue
			}
			for _, v := range vs {
				w.Header().Add(k, strings.ReplaceAll(v, "localhost:18080", host))
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(strings.ReplaceAll(string(body), "localhost:18080", host)))
	}))
	t.Cleanup(srv.Close)
	return srv, &log
}

func readHeaders(t *testing.T, path string) (int, http.Header) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Scan()
	var status int
	parts := strings.Fields(sc.Text())
	if len(parts) < 2 {
		t.Fatalf("%s: bad status line", path)
	}
	if _, err := jsonNumber(parts[1], &status); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return status, h
}

func jsonNumber(s string, v *int) (int, error) { return *v, json.Unmarshal([]byte(s), v) }

var captureNow = time.Date(2026, 11, 28, 12, 7, 15, 0, time.UTC)

func captureRoutes() map[string]string {
	return map[string]string{
		"/api/v1/accounts/lookup":                              "lookup",
		"/api/v1/accounts/01KJRJF193XV15CDQTD9QM8CSR/statuses": "account_statuses_limit2",
		"/api/v1/statuses/01M8H0T29AVN7S3B1P9W146CVZ/context":  "context",
		"/api/v1/statuses/01M8H0T28AJVZW95P8YDVEWJEZ/context":  "status_404",
	}
}

func request(handle, base string, now time.Time) crawler.Request {
	return crawler.Request{
		Target:  model.Target{ID: "mp-1", Name: "Jane Roe"},
		Account: model.Account{Platform: model.Mastodon, Handle: handle, URL: base},
		Now:     now,
	}
}

func TestGoToSocialCaptures(t *testing.T) {
	srv, log := replayLog(t, captureRoutes())
	host := strings.TrimPrefix(srv.URL, "http://")
	src := mastodon.New(newClient(t, nil, captureNow), mastodon.Options{Scheme: "http"})
	res, err := src.Crawl(context.Background(), request("@mp_watched@"+host, "", captureNow))
	// The second post's context is the captured 404: recorded, rest kept.
	if crawler.KindOf(err) != crawler.KindNotFound {
		t.Fatalf("err = %v, want the captured 404 as not_found", err)
	}
	if !strings.Contains(err.Error(), "01M8H0T28AJVZW95P8YDVEWJEZ") || !strings.Contains(err.Error(), "target status not found") {
		t.Errorf("error does not name the post and the server's message: %v", err)
	}
	if len(res.Posts) != 2 || res.Posts[0].ID != "01M8H0T29AVN7S3B1P9W146CVZ" || res.Posts[0].Text != "post 3" {
		t.Fatalf("posts = %+v", res.Posts)
	}
	if len(res.Replies) != 1 {
		t.Fatalf("replies = %+v, want only the other account's reply (the MP's own is excluded)", res.Replies)
	}
	r := res.Replies[0]
	wantCreated := time.Date(2026, 11, 28, 12, 6, 37, 677e6, time.UTC)
	acctCreated := time.Date(2026, 11, 28, 12, 6, 8, 0, time.UTC)
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", r.ID, "01M8H0SPVCXG73VZHFTXMSXWJK"},
		{"parent", r.ParentID, "01M8H0SPN74SZSY3QMYTFM3KBS"},
		{"post", r.PostID, "01M8H0T29AVN7S3B1P9W146CVZ"},
		{"kind", r.Kind, model.KindReply},
		{"text", r.Text, "@mp_watched you are a disgrace"},
		{"lang", r.Lang, "en"},
		{"created", r.CreatedAt, wantCreated},
		{"url", r.URL, srv.URL + "/@replier/statuses/01M8H0SPVCXG73VZHFTXMSXWJK"},
		{"author id", r.Author.ID, "replier@" + host},
		{"author created", *r.Author.CreatedAt, acctCreated},
		{"default avatar", r.Author.DefaultAvatar, true},
		{"author posts", r.Author.Posts, 1},
		{"target", r.Target, "mp-1"},
		{"account", r.Account, "@mp_watched@" + host},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// The captured page was full, so its Link "next" is followed verbatim.
	next := "/api/v1/accounts/01KJRJF193XV15CDQTD9QM8CSR/statuses?limit=2&max_id=01M8H0T28AJVZW95P8YDVEWJEZ&exclude_replies=false&exclude_reblogs=false&pinned=false&only_media=false&only_public=false"
	found := false
	for _, u := range *log {
		found = found || u == next
	}
	if !found {
		t.Errorf("Link next not followed verbatim; requests: %q", *log)
	}
	var cur map[string]any
	if err := json.Unmarshal([]byte(res.Cursor), &cur); err != nil || cur["acct_id"] != "01KJRJF193XV15CDQTD9QM8CSR" {
		t.Errorf("cursor = %s (%v)", res.Cursor, err)
	}
}

func TestGoToSocial401(t *testing.T) {
	srv := replay(t, map[string]string{"/api/v1/accounts/lookup": "unauth_401"})
	host := strings.TrimPrefix(srv.URL, "http://")
	src := mastodon.New(newClient(t, nil, captureNow), mastodon.Options{Scheme: "http"})
	_, err := src.Crawl(context.Background(), request("@mp_watched@"+host, "", captureNow))
	var ce *crawler.Error
	if !errors.As(err, &ce) || ce.Kind != crawler.KindAuth || ce.Status != 401 {
		t.Fatalf("err = %v, want auth 401", err)
	}
	for _, want := range []string{"token not supplied", "crawler.instances." + host + ".token", srv.URL + "/api/v1/accounts/lookup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestParseHandle(t *testing.T) {
	tests := []struct {
		in, user, host string
		ok             bool
	}{
		{"@jane@social.example", "jane", "social.example", true},
		{"jane@Social.Example", "jane", "social.example", true},
		{"@jane", "", "", false},
		{"@jane@", "", "", false},
		{"@ja/ne@x.org", "", "", false},
	}
	for _, tt := range tests {
		u, h, err := mastodon.ParseHandle(tt.in)
		if (err == nil) != tt.ok || u != tt.user || h != tt.host {
			t.Errorf("ParseHandle(%q) = %q, %q, %v", tt.in, u, h, err)
		}
	}
}
