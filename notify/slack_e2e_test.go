package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/slack"
)

// Through the whole pipeline to slack-go's test server: a 429 is retried
// exactly when Retry-After says, and the resolution is threaded under the
// first message by its ts.
func TestSlackRateLimitAndThreadingEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var calls []string // thread_ts per accepted post; "429" for refused ones
	s := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			if len(calls) == 0 {
				calls = append(calls, "429")
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			calls = append(calls, r.FormValue("thread_ts"))
			fmt.Fprintf(w, `{"ok":true,"channel":"C1","ts":"1700000000.%06d"}`, len(calls))
		})
	})
	s.Start()
	defer s.Stop()
	cfg := parseConfig(t, `
notify:
  receivers:
    - {name: comms, type: slack, slack: {token: xoxb-test, channel: C1, api_url: "`+s.GetAPIURL()+`"}}
    - {name: admins, type: console}
  default: {receiver: comms, group_wait: 0s}
  ops_receiver: admins
`)
	r, _ := cfg.Receiver("comms")
	clk := &clock{t: t0}
	db := openDB(t)
	d, err := notify.New(cfg, db, map[string]notify.Notifier{"comms": slack.New(*r.Slack, slack.Options{}), "admins": &recorder{}}, notify.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	flush := func(at time.Time) {
		clk.Set(at)
		if err := d.Flush(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	ncalls := func() int { mu.Lock(); defer mu.Unlock(); return len(calls) }
	if err := d.Submit(ctx, []model.Alert{alert("a", 1, model.StatusFiring, "spike", "mp-a")}); err != nil {
		t.Fatal(err)
	}
	flush(t0)
	flush(t0.Add(6 * time.Second))
	if n := ncalls(); n != 1 {
		t.Fatalf("%d calls before Retry-After passed", n)
	}
	flush(t0.Add(7 * time.Second))
	if n := ncalls(); n != 2 {
		t.Fatalf("%d calls after Retry-After", n)
	}
	clk.Set(t0.Add(time.Minute))
	if err := d.Submit(ctx, []model.Alert{alert("a", 2, model.StatusResolved, "spike", "mp-a")}); err != nil {
		t.Fatal(err)
	}
	flush(t0.Add(time.Hour))
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 || calls[1] != "" || calls[2] != "1700000000.000002" {
		t.Fatalf("calls %q", calls)
	}
}
