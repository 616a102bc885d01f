package notify_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/store"
)

var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// recorder is a Notifier that keeps what it was sent; fail, when set,
// decides each attempt's error.
type recorder struct {
	mu     sync.Mutex
	msgs   []notify.Message
	fail   func(n int, m notify.Message) error
	calls  int
	thread string // returned as the receipt's thread when set
}

func (r *recorder) Notify(_ context.Context, m notify.Message) (notify.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls, m); err != nil {
			return notify.Receipt{}, err
		}
	}
	r.msgs = append(r.msgs, m)
	th := m.Thread
	if th == "" && r.thread != "" {
		th = r.thread + "-" + m.ID
	}
	return notify.Receipt{Thread: th}, nil
}

func (r *recorder) take() []notify.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}

func parseConfig(t testing.TB, src string) notify.Config {
	t.Helper()
	doc, err := yamlx.Parse("config.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := notify.ParseConfig(yamlx.Section{Doc: doc, Node: yamlx.Get(doc.Root, "notify"), Path: "notify"})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "mpwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type env struct {
	d    *notify.Dispatcher
	db   *store.DB
	clk  *clock
	recs map[string]*recorder
}

// newEnv makes a dispatcher over a real store with a recorder per receiver.
func newEnv(t testing.TB, cfgYAML string) *env {
	t.Helper()
	cfg := parseConfig(t, cfgYAML)
	e := &env{db: openDB(t), clk: &clock{t: t0}, recs: map[string]*recorder{}}
	ns := map[string]notify.Notifier{}
	for _, r := range cfg.Receivers {
		e.recs[r.Name] = &recorder{}
		ns[r.Name] = e.recs[r.Name]
	}
	d, err := notify.New(cfg, e.db, ns, notify.Options{Now: e.clk.Now, PublicURL: "https://mpwatch.example.org/"})
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	return e
}

func (e *env) submit(t testing.TB, as ...model.Alert) {
	t.Helper()
	if err := e.d.Submit(context.Background(), as); err != nil {
		t.Fatal(err)
	}
}

// flushAt moves the clock to t and makes one pass.
func (e *env) flushAt(t testing.TB, at time.Time) {
	t.Helper()
	e.clk.Set(at)
	if err := e.d.Flush(context.Background(), at); err != nil {
		t.Fatal(err)
	}
}

func alert(key string, seq int, status model.AlertStatus, typ, target string) model.Alert {
	return model.Alert{
		Key: key, Seq: seq, Rule: typ + "-rule", Type: typ, Severity: model.SeverityHigh, Status: status,
		Audience: model.AudienceComms, Targets: []string{target}, Platforms: []model.Platform{model.Mastodon},
		WindowStart: t0.Add(-time.Hour), WindowEnd: t0, FiredAt: t0,
		Summary: "replies to " + target + " spiked", Evidence: model.Evidence{Reason: "120 replies in an hour against a baseline of 14", Count: 120, Baseline: 14, Ratio: 8.57, Z: 6.1},
	}
}

func eventIDs(ms []notify.Message) []string {
	var out []string
	for _, m := range ms {
		for _, a := range m.Alerts {
			out = append(out, a.EventID())
		}
	}
	return out
}
