package fakeplatform

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestMastodonShapesAndPagination(t *testing.T) {
	m := NewMastodon(MastodonOptions{GoToSocial: true, RateLimit: 4, Now: func() time.Time { return t0 }})
	defer m.Close()
	id := m.AddAccount(MastodonAccount{Username: "mp"})
	for i := range 3 {
		m.AddStatus("mp", t0.Add(-time.Duration(i)*time.Minute), "<p>x</p>")
	}
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`).MatchString(id) {
		t.Errorf("GoToSocial id %q is not a ULID", id)
	}
	resp, body := get(t, m.URL()+"/api/v1/accounts/"+id+"/statuses?limit=2")
	var page []map[string]any
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page) != 2 {
		t.Fatalf("page = %s (%v)", body, err)
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `max_id=`+page[1]["id"].(string)) || !strings.Contains(link, `rel="next"`) || !strings.Contains(link, `rel="prev"`) {
		t.Errorf("Link = %q", link)
	}
	if resp.Header.Get("X-Ratelimit-Reset") != "2026-03-02T12:05:00.000Z" || resp.Header.Get("X-Ratelimit-Remaining") != "3" {
		t.Errorf("rate headers = %v", resp.Header)
	}
	if page[0]["in_reply_to_id"] != nil || page[0]["account"].(map[string]any)["locked"] != true {
		t.Errorf("status shape = %v", page[0])
	}
	for range 4 { // budget 4: the fifth request is refused
		resp, _ = get(t, m.URL()+"/api/v1/accounts/lookup?acct=mp")
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("over the budget: status %d", resp.StatusCode)
	}
}

func TestFaultTimesAndRequests(t *testing.T) {
	w := NewWeb()
	defer w.Close()
	w.Set("/p", "text/plain", "hello")
	w.Inject(Fault{Path: "/p", Status: 503, Times: 2})
	var codes []int
	for range 3 {
		resp, _ := get(t, w.URL()+"/p")
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 503 || codes[1] != 503 || codes[2] != 200 || w.Requests("/p") != 3 {
		t.Errorf("codes = %v, requests = %d", codes, w.Requests("/p"))
	}
	resp, _ := get(t, w.URL()+"/p")
	resp2, _ := get(t, w.URL()+"/p", "If-None-Match", resp.Header.Get("ETag"))
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET = %d", resp2.StatusCode)
	}
}

func TestBlueskyCursor(t *testing.T) {
	b := NewBluesky()
	defer b.Close()
	did := b.AddProfile(BlueskyProfile{Handle: "mp.test"})
	for i := range 3 {
		b.AddPost("mp.test", t0.Add(-time.Duration(i)*time.Hour), "p")
	}
	_, body := get(t, b.URL()+"/xrpc/app.bsky.feed.getAuthorFeed?actor="+did+"&limit=2")
	var fr struct {
		Cursor string `json:"cursor"`
		Feed   []any  `json:"feed"`
	}
	if err := json.Unmarshal([]byte(body), &fr); err != nil || len(fr.Feed) != 2 || fr.Cursor == "" {
		t.Fatalf("page 1 = %s", body)
	}
	_, body = get(t, b.URL()+"/xrpc/app.bsky.feed.getAuthorFeed?actor="+did+"&limit=2&cursor="+fr.Cursor)
	fr.Cursor = ""
	if err := json.Unmarshal([]byte(body), &fr); err != nil || len(fr.Feed) != 1 || fr.Cursor != "" {
		t.Fatalf("page 2 = %s", body)
	}
	resp, body := get(t, b.URL()+"/xrpc/app.bsky.feed.getPostThread?uri=at://nope")
	if resp.StatusCode != 400 || !strings.Contains(body, `"error":"NotFound"`) {
		t.Errorf("missing thread = %d %s", resp.StatusCode, body)
	}
}
