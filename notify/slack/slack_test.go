package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/slack"
)

var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func secret(s string) yamlx.Secret { return yamlx.Secret{Secret: model.Secret(s)} }

func sampleAlert() model.Alert {
	a := model.Alert{
		Key: "narrative:abc", Seq: 1, Rule: "narrative-repeat", Type: "narrative", Severity: model.SeverityHigh, Status: model.StatusFiring,
		Targets: []string{"mp-a", "mp-b"}, Platforms: []model.Platform{model.Mastodon, model.Bluesky},
		WindowStart: t0.Add(-time.Hour), WindowEnd: t0, Accounts: []string{"@a@x", "@b@y", "@c@z"},
		Summary: "the same text from 14 accounts", Evidence: model.Evidence{
			Reason: "14 accounts posted near-identical replies to 2 MPs within an hour.", Count: 42, Baseline: 3.5, Ratio: 12, Z: 7.25,
			Representative: "Resign now, everyone knows", Link: "https://mpwatch.example.org/alerts/narrative:abc",
			Posts: []string{"https://social.example/@mpa/1"},
		},
	}
	for i := range 4 {
		a.Evidence.Samples = append(a.Evidence.Samples, model.Sample{ReplyKey: fmt.Sprintf("mastodon:%d", i), Platform: model.Mastodon, Target: "mp-a",
			URL: fmt.Sprintf("https://social.example/@u%d/%d", i, i), Author: fmt.Sprintf("user%d", i), Text: fmt.Sprintf("Resign now %d", i)})
	}
	return a
}

type captured struct {
	Channel, Text, ThreadTS string
	Blocks                  []map[string]any
}

// botServer is slack-go's slacktest server with chat.postMessage captured.
func botServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int) bool) (*slacktest.Server, *[]captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	n := 0
	s := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			n++
			if handler != nil && handler(w, r, n) {
				return
			}
			if err := r.ParseForm(); err != nil {
				t.Error(err)
			}
			c := captured{Channel: r.FormValue("channel"), Text: r.FormValue("text"), ThreadTS: r.FormValue("thread_ts")}
			if err := json.Unmarshal([]byte(r.FormValue("blocks")), &c.Blocks); err != nil {
				t.Errorf("blocks: %v", err)
			}
			got = append(got, c)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, c.Channel, n)
		})
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s, &got
}

func botNotifier(s *slacktest.Server) *slack.Notifier {
	return slack.New(notify.SlackConfig{Token: secret("xoxb-test"), Channel: "C0COMMS", APIURL: s.GetAPIURL()}, slack.Options{})
}

func texts(blocks []map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok {
				out = append(out, t)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	for _, b := range blocks {
		walk(b)
	}
	return out
}

func TestBotTokenBlocksAndThreading(t *testing.T) {
	s, got := botServer(t, nil)
	n := botNotifier(s)
	ctx := context.Background()
	m := notify.Message{ID: "7", Kind: notify.KindAlert, Receiver: "comms", Alerts: []model.Alert{sampleAlert()}}
	rec, err := n.Notify(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Thread != "1700000000.000001" {
		t.Fatalf("receipt %+v", rec)
	}
	c := (*got)[0]
	if c.Channel != "C0COMMS" || c.ThreadTS != "" {
		t.Fatalf("posted %+v", c)
	}
	if c.Blocks[0]["type"] != "header" || c.Blocks[0]["text"].(map[string]any)["text"] != "HIGH · narrative-repeat · mp-a, mp-b" {
		t.Fatalf("header %v", c.Blocks[0])
	}
	all := strings.Join(texts(c.Blocks), "\n")
	for _, want := range []string{
		"14 accounts posted near-identical replies to 2 MPs within an hour.",
		"*Target*\nmp-a, mp-b", "*Platform*\nmastodon, bluesky", "*Window*\n2026-03-10 14:00–15:00 UTC",
		"*Count*\n42 vs baseline 3.5 (×12, z 7.25)", "*Accounts*\n3", "*Targets*\n2",
		"> Resign now 0\n— user0 · <https://social.example/@u0/0|reply>",
		"> Resign now 3", // max_samples defaults to 5, there are 4
		"<https://mpwatch.example.org/alerts/narrative:abc|Full evidence> · <https://social.example/@mpa/1|Post 1>",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	if !strings.HasPrefix(c.Text, "HIGH · narrative-repeat") {
		t.Errorf("fallback text %q", c.Text)
	}
	// the resolution goes in the first message's thread
	r := sampleAlert()
	r.Seq, r.Status = 2, model.StatusResolved
	rec2, err := n.Notify(ctx, notify.Message{ID: "8", Kind: notify.KindAlert, Alerts: []model.Alert{r}, Thread: rec.Thread})
	if err != nil {
		t.Fatal(err)
	}
	if (*got)[1].ThreadTS != rec.Thread || rec2.Thread != rec.Thread {
		t.Fatalf("thread_ts %q, receipt %q", (*got)[1].ThreadTS, rec2.Thread)
	}
	if h := (*got)[1].Blocks[0]["text"].(map[string]any)["text"]; h != "RESOLVED: HIGH · narrative-repeat · mp-a, mp-b" {
		t.Fatalf("header %v", h)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	tests := []struct {
		name       string
		respond    func(w http.ResponseWriter)
		permanent  bool
		retryAfter time.Duration
	}{
		{"rate limited", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		}, false, 7 * time.Second},
		{"server error", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, false, 0},
		{"unknown channel", func(w http.ResponseWriter) { io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`) }, true, 0},
		{"bad token", func(w http.ResponseWriter) { io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`) }, true, 0},
		{"slack hiccup", func(w http.ResponseWriter) { io.WriteString(w, `{"ok":false,"error":"internal_error"}`) }, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := botServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) bool {
				w.Header().Set("Content-Type", "application/json")
				tt.respond(w)
				return true
			})
			_, err := botNotifier(s).Notify(context.Background(), notify.Message{Alerts: []model.Alert{sampleAlert()}})
			if err == nil {
				t.Fatal("no error")
			}
			if notify.IsPermanent(err) != tt.permanent {
				t.Fatalf("permanent = %v for %v", notify.IsPermanent(err), err)
			}
			var re *notify.RetryableError
			if !tt.permanent {
				if !asRetryable(err, &re) || re.RetryAfter != tt.retryAfter {
					t.Fatalf("retryable %+v from %v", re, err)
				}
			}
			if strings.Contains(err.Error(), "xoxb-test") {
				t.Fatal("token in error")
			}
		})
	}
}

func asRetryable(err error, re **notify.RetryableError) bool {
	r, ok := err.(*notify.RetryableError)
	*re = r
	return ok
}

func TestWebhookMode(t *testing.T) {
	var body map[string]any
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	n := slack.New(notify.SlackConfig{WebhookURL: secret(srv.URL + "/services/T/B/X")}, slack.Options{})
	rec, err := n.Notify(context.Background(), notify.Message{Alerts: []model.Alert{sampleAlert()}, Thread: "ignored"})
	if err != nil || rec.Thread != "" {
		t.Fatalf("%v %+v", err, rec)
	}
	if _, ok := body["blocks"].([]any); !ok || !strings.HasPrefix(body["text"].(string), "HIGH · narrative-repeat") {
		t.Fatalf("body %v", body)
	}
	status = http.StatusNotFound // a revoked webhook
	if _, err := n.Notify(context.Background(), notify.Message{Alerts: []model.Alert{sampleAlert()}}); !notify.IsPermanent(err) {
		t.Fatalf("404: %v", err)
	}
	if _, err := n.Notify(context.Background(), notify.Message{Alerts: []model.Alert{sampleAlert()}}); strings.Contains(fmt.Sprint(err), "/services/") {
		t.Fatalf("webhook URL in error: %v", err)
	}
}

// hostile strings a reply, a name or a URL might carry
var hostile = []string{
	"<!channel> look", "<!here>", "<@U024BE7LH> hi", "<!subteam^S0123|@comms>", "<https://evil.example|your bank>",
	"*bold* _it_ ~strike~ `code` ```block```", "line one\n> forged quote\n*Target*\nmp-z", "@channel @here", "&lt;!channel&gt;",
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

func TestHostileTextIsNeutralised(t *testing.T) {
	a := sampleAlert()
	a.Evidence.Samples = nil
	for i, h := range hostile {
		a.Evidence.Samples = append(a.Evidence.Samples, model.Sample{Text: h, Author: h, URL: "https://social.example/@x/" + fmt.Sprint(i)})
	}
	a.Evidence.Samples = append(a.Evidence.Samples,
		model.Sample{Text: "bad link", Author: "x", URL: "javascript:alert(1)"},
		model.Sample{Text: "odd link", Author: "x", URL: "https://x.example/a|b>c <!channel>"})
	a.Summary, a.Evidence.Reason, a.Evidence.Representative = strings.Join(hostile, " "), strings.Join(hostile, " "), strings.Join(hostile, " ")
	a.Targets = []string{"<!channel>"}
	a.Rule = "<@U1>"
	blocks, fallback := slack.Blocks(notify.Message{Alerts: []model.Alert{a}}, 10)
	raw, _ := json.Marshal(blocks)
	var generic []map[string]any
	_ = json.Unmarshal(raw, &generic)
	all := append(texts(generic), fallback)
	allowed := map[string]bool{}
	for i := range hostile {
		allowed[fmt.Sprintf("<https://social.example/@x/%d|reply>", i)] = true
	}
	allowed["<https://x.example/a%7Cb%3Ec%20%3C%21channel%3E|reply>"] = true
	allowed["<https://mpwatch.example.org/alerts/narrative:abc|Full evidence>"] = true
	allowed["<https://social.example/@mpa/1|Post 1>"] = true
	for _, s := range all {
		for _, tag := range tagRE.FindAllString(s, -1) {
			if !allowed[tag] {
				t.Errorf("live markup %q in %q", tag, s)
			}
		}
		for _, bad := range []string{"*bold*", "_it_", "~strike~", "`code`", "\n> forged", "@channel", "@here", "javascript:"} {
			if strings.Contains(s, bad) {
				t.Errorf("%q survives in %q", bad, s)
			}
		}
	}
	if !strings.Contains(strings.Join(all, ""), "&lt;!channel&gt; look") || !strings.Contains(strings.Join(all, ""), "&amp;lt;!channel&amp;gt;") {
		t.Error("hostile text should still be readable, escaped")
	}
}

func TestTruncatedWithinSlackLimits(t *testing.T) {
	var as []model.Alert
	for i := range 30 {
		a := sampleAlert()
		a.Key = fmt.Sprintf("k%02d", i)
		a.Evidence.Reason = strings.Repeat("long reason ", 500)
		a.Evidence.Samples = nil
		for j := range 12 {
			a.Evidence.Samples = append(a.Evidence.Samples, model.Sample{Text: strings.Repeat("x", 900), Author: "a", URL: fmt.Sprintf("https://s.example/%d", j)})
		}
		for j := range 300 {
			a.Evidence.Posts = append(a.Evidence.Posts, fmt.Sprintf("https://social.example/@mpa/%d", j))
		}
		as = append(as, a)
	}
	blocks, fallback := slack.Blocks(notify.Message{Alerts: as}, 5)
	raw, _ := json.Marshal(blocks)
	var generic []map[string]any
	_ = json.Unmarshal(raw, &generic)
	if len(generic) > slack.MaxBlocks {
		t.Fatalf("%d blocks", len(generic))
	}
	for _, b := range generic {
		if tx, ok := b["text"].(map[string]any); ok {
			limit := slack.MaxSectionText
			if b["type"] == "header" {
				limit = slack.MaxHeaderText
			}
			if n := len([]rune(tx["text"].(string))); n > limit {
				t.Errorf("%s text of %d runes", b["type"], n)
			}
		}
		if fs, ok := b["fields"].([]any); ok {
			if len(fs) > slack.MaxFields {
				t.Errorf("%d fields", len(fs))
			}
			for _, f := range fs {
				if n := len([]rune(f.(map[string]any)["text"].(string))); n > slack.MaxFieldText {
					t.Errorf("field of %d runes", n)
				}
			}
		}
	}
	all := strings.Join(texts(generic), "\n")
	for _, want := range []string{"more alert(s)", "… and 7 more sample(s)", "more"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q", want)
		}
	}
	if len([]rune(fallback)) > slack.MaxFallbackText {
		t.Errorf("fallback of %d runes", len([]rune(fallback)))
	}
}
