package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/slack"
)

// fakeSlackHook is an incoming-webhook endpoint that records, per alert
// event, how often it arrived and when it first did.
type fakeSlackHook struct {
	mu    sync.Mutex
	count map[string]int
	first map[string]time.Time
}

func (f *fakeSlackHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Blocks []struct {
			Fields []struct{ Text string } `json:"fields"`
		} `json:"blocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range msg.Blocks {
		for _, fl := range b.Fields {
			if id, ok := strings.CutPrefix(fl.Text, "*Alert*\n"); ok {
				f.count[id]++
				if _, seen := f.first[id]; !seen {
					f.first[id] = now
				}
			}
		}
	}
	_, _ = w.Write([]byte("ok"))
}

func (f *fakeSlackHook) received() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.count)
}

// BenchmarkDispatch10k pushes 10,000 alert events, as fast as Submit takes
// them, through routing, grouping and the SQLite outbox to a local fake Slack
// webhook while Run delivers, and reports events/s and end-to-end latency
// (Submit to arrival; in a burst this is mostly queueing behind the backlog).
// It fails if any event is lost or arrives twice.
func BenchmarkDispatch10k(b *testing.B) { runLoad(b, 10000, 100, 0) }

// BenchmarkDispatchPaced submits 2,000 events at 100/s (batches of 10 every
// 100ms), well under capacity, so the latency is the pipeline's own.
func BenchmarkDispatchPaced(b *testing.B) { runLoad(b, 2000, 10, 100*time.Millisecond) }

func runLoad(b *testing.B, events, batch int, pace time.Duration) {
	for range b.N {
		hook := &fakeSlackHook{count: map[string]int{}, first: map[string]time.Time{}}
		srv := httptest.NewServer(hook)
		cfg := parseConfig(b, `
notify:
  receivers:
    - {name: comms, type: slack, slack: {webhook_url: "`+srv.URL+`"}}
    - {name: admins, type: console}
  default: {receiver: comms, group_by: [key], group_wait: 0s}
  ops_receiver: admins
  delivery: {workers: 8, poll: 50ms}
`)
		db := openDB(b)
		r, _ := cfg.Receiver("comms")
		d, err := notify.New(cfg, db, map[string]notify.Notifier{
			"comms":  slack.New(*r.Slack, slack.Options{}),
			"admins": notify.NotifierFunc(func(context.Context, notify.Message) (notify.Receipt, error) { return notify.Receipt{}, nil }),
		}, notify.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- d.Run(ctx) }()
		submitted := map[string]time.Time{}
		start := time.Now()
		for i := 0; i < events; i += batch {
			as := make([]model.Alert, 0, batch)
			for j := i; j < i+batch; j++ {
				typ := "volume"
				if j%10 == 0 {
					typ = "spike" // exercises the inhibition lookup
				}
				a := alert(fmt.Sprintf("load:%05d", j), 1, model.StatusFiring, typ, fmt.Sprintf("mp-%03d", j%300))
				as = append(as, a)
			}
			now := time.Now()
			for _, a := range as {
				submitted[a.EventID()] = now
			}
			if err := d.Submit(ctx, as); err != nil {
				b.Fatal(err)
			}
			if pace > 0 {
				time.Sleep(time.Until(now.Add(pace)))
			}
		}
		deadline := time.Now().Add(5 * time.Minute)
		for hook.received() < events && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(start)
		cancel()
		<-done
		srv.Close()

		hook.mu.Lock()
		var lat []time.Duration
		for id, at := range submitted {
			switch n := hook.count[id]; n {
			case 1:
				lat = append(lat, hook.first[id].Sub(at))
			case 0:
				b.Errorf("event %s lost", id)
			default:
				b.Errorf("event %s delivered %d times", id, n)
			}
		}
		hook.mu.Unlock()
		if b.Failed() {
			b.FailNow()
		}
		slices.Sort(lat)
		b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99_ms")
		b.Logf("%d events in %s: %.0f events/s, latency p50 %s p99 %s, none lost or duplicated",
			events, elapsed.Round(time.Millisecond), float64(events)/elapsed.Seconds(), lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond))
	}
}
