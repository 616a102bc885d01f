package notify_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/webhook"
	"github.com/mpwatch/mpwatch/store"
)

// The crash tests run the dispatcher in a child process (this test binary
// re-executed) that is SIGKILLed at a chosen point, then "restart" it in
// this process on the same database and count what the receiver got.

const crashCfg = `
notify:
  receivers:
    - name: hook
      type: webhook
      webhook: {url: "${CRASH_HOOK_URL}"}
    - name: admins
      type: console
  default: {receiver: hook, group_wait: 0s, repeat_interval: 0s} # no reminders: every message counted is a resend
  ops_receiver: admins
  delivery: {lease: 2m}
`

type counter struct {
	mu     sync.Mutex
	events map[string]int
	block  chan struct{} // when set, requests hang until closed
	seen   chan string
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p webhook.Payload
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	c.mu.Lock()
	for _, a := range p.Alerts {
		c.events[a.EventID()]++
	}
	block := c.block
	c.mu.Unlock()
	if c.seen != nil {
		c.seen <- p.ID
	}
	if block != nil {
		<-block
	}
}

func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events[id]
}

func crashDispatcher(t testing.TB, dbPath, hookURL string, now func() time.Time) (*notify.Dispatcher, *store.DB) {
	t.Helper()
	t.Setenv("CRASH_HOOK_URL", hookURL)
	cfg := parseConfig(t, crashCfg)
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := cfg.Receiver("hook")
	ns := map[string]notify.Notifier{"hook": webhook.New(*r.Webhook, webhook.Options{}), "admins": notify.NotifierFunc(
		func(context.Context, notify.Message) (notify.Receipt, error) { return notify.Receipt{}, nil })}
	d, err := notify.New(cfg, db, ns, notify.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return d, db
}

var crashAlert = model.Alert{Key: "spike:mp-a:2026-03-10T14", Seq: 1, Rule: "spike", Type: "spike", Severity: model.SeverityHigh,
	Status: model.StatusFiring, Audience: model.AudienceComms, Targets: []string{"mp-a"}, Summary: "spike"}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv("MPWATCH_CRASH_MODE")
	if mode == "" {
		t.Skip("helper process for the crash tests")
	}
	d, _ := crashDispatcher(t, os.Getenv("MPWATCH_CRASH_DB"), os.Getenv("MPWATCH_CRASH_HOOK"), time.Now)
	ctx := context.Background()
	if err := d.Submit(ctx, []model.Alert{crashAlert}); err != nil {
		t.Fatal(err)
	}
	if mode != "stored" {
		_ = d.Flush(ctx, time.Now()) // "sending" hangs here until the parent kills us
	}
	os.Stdout.WriteString("CHECKPOINT\n")
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

func runCrashChild(t *testing.T, mode, dbPath, hookURL string, killWhen <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MPWATCH_CRASH_MODE="+mode, "MPWATCH_CRASH_DB="+dbPath, "MPWATCH_CRASH_HOOK="+hookURL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	checkpoint := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "CHECKPOINT" {
				ok = true
			}
		}
		checkpoint <- ok
	}()
	if killWhen != nil {
		select {
		case <-killWhen:
			_ = cmd.Process.Kill()
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child never reached the receiver")
		}
	}
	err = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	if killWhen == nil && !<-checkpoint {
		t.Fatal("child died before its checkpoint")
	}
}

func TestCrashBetweenStoredAndSentDeliversOnce(t *testing.T) {
	c := &counter{events: map[string]int{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "mpwatch.db")
	runCrashChild(t, "stored", dbPath, srv.URL, nil)
	if n := c.count(crashAlert.EventID()); n != 0 {
		t.Fatalf("child sent %d before dying", n)
	}
	d, db := crashDispatcher(t, dbPath, srv.URL, time.Now)
	defer db.Close()
	ctx := context.Background()
	if err := d.Submit(ctx, []model.Alert{crashAlert}); err != nil { // the engine re-emits on restart
		t.Fatal(err)
	}
	for range 3 {
		if err := d.Flush(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.count(crashAlert.EventID()); n != 1 {
		t.Fatalf("delivered %d times after restart, want 1", n)
	}
}

func TestCrashAfterSendDoesNotResend(t *testing.T) {
	c := &counter{events: map[string]int{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "mpwatch.db")
	runCrashChild(t, "sent", dbPath, srv.URL, nil)
	if n := c.count(crashAlert.EventID()); n != 1 {
		t.Fatalf("child sent %d times", n)
	}
	// restart, even a day later: nothing is due
	d, db := crashDispatcher(t, dbPath, srv.URL, func() time.Time { return time.Now().Add(24 * time.Hour) })
	defer db.Close()
	ctx := context.Background()
	if err := d.Submit(ctx, []model.Alert{crashAlert}); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(ctx, time.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := c.count(crashAlert.EventID()); n != 1 {
		t.Fatalf("resent after restart: %d deliveries", n)
	}
}

// TestCrashMidSendRetriesAfterLease pins the documented at-least-once window:
// killed while the receiver holds the request (outcome unknown), the
// delivery is sent again once its lease expires, and only then.
func TestCrashMidSendRetriesAfterLease(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	c := &counter{events: map[string]int{}, block: make(chan struct{}), seen: make(chan string, 4)}
	srv := httptest.NewServer(c)
	defer srv.Close()
	defer close(c.block)
	dbPath := filepath.Join(t.TempDir(), "mpwatch.db")
	runCrashChild(t, "sending", dbPath, srv.URL, c.seen)
	c.mu.Lock()
	c.block = nil
	c.mu.Unlock()
	var offset time.Duration
	d, db := crashDispatcher(t, dbPath, srv.URL, func() time.Time { return time.Now().Add(offset) })
	defer db.Close()
	ctx := context.Background()
	if err := d.Flush(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := c.count(crashAlert.EventID()); n != 1 {
		t.Fatalf("resent inside the lease: %d", n)
	}
	offset = 3 * time.Minute
	if err := d.Flush(ctx, time.Now().Add(offset)); err != nil {
		t.Fatal(err)
	}
	if n := c.count(crashAlert.EventID()); n != 2 {
		t.Fatalf("after the lease: %d deliveries, want 2 (once unanswered, once sent)", n)
	}
	if err := d.Flush(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := c.count(crashAlert.EventID()); n != 2 {
		t.Fatalf("sent again after success: %d", n)
	}
}
