package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/mpwatch/mpwatch/model"
	"golang.org/x/net/html"
)

func TestEvidencePage(t *testing.T) {
	s := newTestServer(fixture(), nil)
	rec := get(t, s.Handler(), alertPath(spikeKey))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	d := parseDOM(t, rec.Body.String())
	assertNoInjection(t, d, 1)
	body := d.bodyText()
	for _, want := range []string{
		"40 replies in 1h against a baseline of 3.2 " + hostileScript, // reason, as text
		"Resign now " + hostileImg,                                    // representative
		"You are a disgrace " + hostileScript,                         // reply text
		"line one\nline two " + hostileSVG,                            // newlines kept for pre-wrap
		hostileImg,                                                    // author display name
		"sample kept in the alert",                                    // purged reply, from the sample
		"1 cited reply(ies) are no longer stored",                     // mastodon:999
		"Europe/Moscow", "67%", "0.71",                                // signals
		"2026-11-20 12:00 UTC – 2026-11-20 14:00 UTC", // window of the latest event
	} {
		if !strings.Contains(body, want) {
			t.Errorf("evidence page lacks %q", want)
		}
	}
	numbers := map[string]string{}
	for _, div := range d.elems("dl", "numbers")[0:1] {
		for _, dt := range (dom{div}).elems("dt", "") {
			numbers[text(dt)] = text(dt.NextSibling)
		}
	}
	for k, v := range map[string]string{"Count": "40", "Baseline": "3.20", "Ratio": "12.50", "Z-score": "8.75"} {
		if numbers[k] != v {
			t.Errorf("number %s = %q, want %q (all %v)", k, numbers[k], v, numbers)
		}
	}

	replies := d.elems("li", "reply")
	if len(replies) != 4 {
		t.Fatalf("%d replies, want 4 (3 stored + 1 sample)", len(replies))
	}
	var keys []string
	for _, li := range replies {
		k, _ := attr(li, "data-key")
		keys = append(keys, k)
	}
	wantKeys := []string{"mastodon:111", "mastodon:112", "bluesky:at://did:plc:xyz/app.bsky.feed.post/3k", "mastodon:150"}
	if strings.Join(keys, " ") != strings.Join(wantKeys, " ") {
		t.Errorf("replies in order %q, want %q", keys, wantKeys)
	}
	// Reply 1: real links, with rel; reply 2: javascript: URL only as text.
	checkLinks := func(li *html.Node) (hrefs []string) {
		for _, a := range (dom{li}).elems("a", "") {
			h, _ := attr(a, "href")
			if rel, _ := attr(a, "rel"); rel != "nofollow noopener noreferrer" {
				t.Errorf("link %q rel %q", h, rel)
			}
			hrefs = append(hrefs, h)
		}
		return hrefs
	}
	if got := checkLinks(replies[0]); strings.Join(got, " ") != "https://example.social/@troll1 https://example.social/@troll1/111" {
		t.Errorf("reply 1 links %q", got)
	}
	if got := checkLinks(replies[1]); len(got) != 0 {
		t.Errorf("reply 2 links %q, want none (javascript: URLs)", got)
	}
	if !strings.Contains(text(replies[1]), hostileURL) {
		t.Error("reply 2's URL should be shown as text")
	}

	// The chart shades the window and marks the bars inside it.
	svg := d.elems("svg", "")[0]
	if n := len((dom{svg}).elems("rect", "window")); n != 1 {
		t.Errorf("%d window rects, want 1", n)
	}
	in := (dom{svg}).elems("rect", "in-window")
	if len(in) == 0 {
		t.Fatal("no bars marked in the window")
	}
	// The window 12:00-14:00 holds two hours of 40 mastodon replies; the
	// bluesky reply each hour must not count (the alert is about mastodon).
	sum := 0
	for _, b := range in {
		_, n, _ := strings.Cut(text(b), ": ")
		v, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("bar tooltip %q", text(b))
		}
		sum += v
	}
	if sum != 80 {
		t.Errorf("replies in window bars = %d, want 80", sum)
	}

	events := d.elems("tr", "event")
	if len(events) != 2 || !strings.Contains(text(events[0]), "firing") || !strings.Contains(text(events[1]), "updated") {
		t.Errorf("history rows wrong: %d", len(events))
	}
	var hrefs []string
	for _, a := range d.elems("a", "") {
		h, _ := attr(a, "href")
		hrefs = append(hrefs, h)
	}
	for _, want := range []string{alertPath(spikeKey + ".csv"), alertPath(spikeKey + ".json"), "/targets/jane", "https://example.social/@jane/100"} {
		if !contains(hrefs, want) {
			t.Errorf("no link %q among %q", want, hrefs)
		}
	}
}

func TestEvidenceCSV(t *testing.T) {
	s := newTestServer(fixture(), nil)
	rec := get(t, s.Handler(), alertPath(spikeKey+".csv"))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="mpwatch-evidence-spike-jane_jane_2026-11-20T12_00Z.csv"` {
		t.Errorf("content disposition %q", cd)
	}
	raw := rec.Body.String()
	if !strings.HasPrefix(raw, "reply_key,platform,target,created_at,author_handle,author_id,url,text\r\n") {
		t.Errorf("header row: %q", strings.SplitN(raw, "\n", 2)[0])
	}
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse back: %v", err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want header + 4", len(rows))
	}
	if got := rows[2]; got[0] != "mastodon:112" || got[7] != `'=HYPERLINK("http://evil.example","click")` {
		t.Errorf("formula row not guarded: %q", got)
	}
	if got := rows[3][7]; got != "line one\nline two "+hostileSVG {
		t.Errorf("multi-line text %q", got)
	}
	if got := rows[1][3]; got != "2026-11-20T12:05:00Z" {
		t.Errorf("created_at %q", got)
	}
}

func TestWriteEvidenceCSVQuoting(t *testing.T) {
	var buf bytes.Buffer
	err := writeEvidenceCSV(&buf, []model.Reply{{Platform: model.Mastodon, ID: "1", Text: `say "hi", then` + "\nbye",
		Author: model.Author{Handle: "@x"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "reply_key,platform,target,created_at,author_handle,author_id,url,text\r\n" +
		"mastodon:1,mastodon,,0001-01-01T00:00:00Z,'@x,,,\"say \"\"hi\"\", then\r\nbye\"\r\n" // RFC 4180: CRLF, also inside quotes
	if buf.String() != want {
		t.Errorf("csv\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestGuardCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=1+1", "'=1+1"},
		{"+33 6", "'+33 6"},
		{"-2", "'-2"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{"'already", "'already"},
	}
	for _, tt := range tests {
		if got := guardCell(tt.in); got != tt.want {
			t.Errorf("guardCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEvidenceJSON(t *testing.T) {
	s := newTestServer(fixture(), nil)
	rec := get(t, s.Handler(), alertPath(spikeKey+".json"))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	var got evidenceJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Alert.Seq != 2 || len(got.Events) != 2 || len(got.Replies) != 4 || got.Missing != 1 {
		t.Errorf("json: seq %d, %d events, %d replies, %d missing", got.Alert.Seq, len(got.Events), len(got.Replies), got.Missing)
	}
	// JSON served as JSON is not HTML: the encoder's own escaping of <, >
	// and & keeps it inert even if mis-sniffed.
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Error("raw <script> in JSON body")
	}
}

func TestAlertWithoutReplies(t *testing.T) {
	f := fixture()
	s := newTestServer(f, nil)
	rec := get(t, s.Handler(), alertPath("flatline-bob/bob"))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	d := parseDOM(t, rec.Body.String())
	assertNoInjection(t, d, 1)
	if !strings.Contains(d.bodyText(), "This alert cites no individual replies") {
		t.Error("empty evidence not explained")
	}
	rec = get(t, s.Handler(), alertPath("flatline-bob/bob.csv"))
	if rows, err := csv.NewReader(rec.Body).ReadAll(); err != nil || len(rows) != 1 {
		t.Errorf("csv of an alert without replies: %d rows, %v", len(rows), err)
	}
}
