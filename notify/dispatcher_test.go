package notify_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
)

const baseCfg = `
notify:
  receivers:
    - name: comms
      type: webhook
      webhook: {url: "http://127.0.0.1:1/hook"}
    - name: admins
      type: console
  default:
    receiver: comms
    group_by: [rule, target]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
    realert: 0s
  ops_receiver: admins
`

func TestGroupWaitIntervalRepeatAndResolved(t *testing.T) {
	e := newEnv(t, baseCfg)
	comms := e.recs["comms"]
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(10*time.Second))
	if got := comms.take(); len(got) != 0 {
		t.Fatalf("sent before group_wait: %v", eventIDs(got))
	}
	e.clk.Set(t0.Add(20 * time.Second))
	e.submit(t, alert("b", 1, model.StatusFiring, "spike", "mp-a"), alert("c", 1, model.StatusFiring, "spike", "mp-b"))
	e.flushAt(t, t0.Add(30*time.Second))
	got := comms.take()
	if len(got) != 1 || !slices.Equal(eventIDs(got), []string{"a#1", "b#1"}) {
		t.Fatalf("at group_wait of mp-a: %v", eventIDs(got))
	}
	if got[0].Kind != notify.KindAlert || got[0].GroupLabels["target"] != "mp-a" {
		t.Fatalf("message %+v", got[0])
	}
	e.flushAt(t, t0.Add(50*time.Second))
	if got := comms.take(); !slices.Equal(eventIDs(got), []string{"c#1"}) {
		t.Fatalf("mp-b group waits its own group_wait: %v", eventIDs(got))
	}
	// a change inside group_interval waits for the interval
	e.clk.Set(t0.Add(time.Minute))
	e.submit(t, alert("a", 2, model.StatusUpdated, "spike", "mp-a"))
	e.flushAt(t, t0.Add(2*time.Minute))
	if got := comms.take(); len(got) != 0 {
		t.Fatalf("sent inside group_interval: %v", eventIDs(got))
	}
	e.flushAt(t, t0.Add(30*time.Second+5*time.Minute))
	if got := comms.take(); !slices.Equal(eventIDs(got), []string{"a#2"}) {
		t.Fatalf("after group_interval: %v", eventIDs(got))
	}
	// nothing changed: a reminder only after repeat_interval
	e.flushAt(t, t0.Add(3*time.Hour))
	if got := comms.take(); len(got) != 0 {
		t.Fatalf("reminder before repeat_interval: %v", eventIDs(got))
	}
	e.flushAt(t, t0.Add(30*time.Second+5*time.Minute+4*time.Hour))
	got = comms.take()
	ids := eventIDs(got)
	slices.Sort(ids)
	if len(got) != 2 || got[0].Kind != notify.KindReminder || !slices.Equal(ids, []string{"a#2", "b#1", "c#1"}) {
		t.Fatalf("reminders of both groups: %v", ids)
	}
	// resolution is sent once, and the resolved alert leaves the reminders
	now := e.clk.Add(time.Minute)
	e.submit(t, alert("a", 3, model.StatusResolved, "spike", "mp-a"))
	e.flushAt(t, now.Add(5*time.Minute))
	if got := comms.take(); !slices.Equal(eventIDs(got), []string{"a#3"}) {
		t.Fatalf("resolved: %v", eventIDs(got))
	}
	e.flushAt(t, now.Add(10*time.Minute))
	if got := comms.take(); len(got) != 0 {
		t.Fatalf("resolved sent twice: %v", eventIDs(got))
	}
	e.flushAt(t, now.Add(5*time.Minute+4*time.Hour))
	ids = eventIDs(comms.take())
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"b#1", "c#1"}) {
		t.Fatalf("reminder after resolution: %v", ids)
	}
}

func TestSubmitTwiceSendsOnce(t *testing.T) {
	e := newEnv(t, baseCfg)
	a := alert("a", 1, model.StatusFiring, "spike", "mp-a")
	e.submit(t, a)
	e.flushAt(t, t0.Add(time.Minute))
	e.submit(t, a, a) // the rules engine re-emits after a restart
	e.flushAt(t, t0.Add(time.Hour))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"a#1"}) {
		t.Fatalf("got %v", got)
	}
}

func TestEvidenceLinkFromPublicURL(t *testing.T) {
	e := newEnv(t, baseCfg)
	e.submit(t, alert("spike:mp-a:2026", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Minute))
	got := e.recs["comms"].take()
	if len(got) != 1 || got[0].Alerts[0].Evidence.Link != "https://mpwatch.example.org/alerts/spike:mp-a:2026" {
		t.Fatalf("got %+v", got)
	}
}

func TestRealertSuppressesEarlyUpdates(t *testing.T) {
	e := newEnv(t, strings.Replace(baseCfg, "realert: 0s", "realert: 10m", 1))
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(30*time.Second))
	e.clk.Set(t0.Add(2 * time.Minute))
	e.submit(t, alert("a", 2, model.StatusUpdated, "spike", "mp-a"))
	e.clk.Set(t0.Add(11 * time.Minute))
	e.submit(t, alert("a", 3, model.StatusUpdated, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Hour))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"a#1", "a#3"}) {
		t.Fatalf("got %v", got)
	}
	counts, err := e.db.NoteCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts[notify.StateSuppressed] != 1 {
		t.Fatalf("counts %v", counts)
	}
}

func TestSendResolvedOff(t *testing.T) {
	e := newEnv(t, strings.Replace(baseCfg, "type: webhook\n", "type: webhook\n      send_resolved: false\n", 1))
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Minute))
	e.submit(t, alert("a", 2, model.StatusResolved, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Hour))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"a#1"}) {
		t.Fatalf("got %v", got)
	}
}

func TestSilences(t *testing.T) {
	e := newEnv(t, baseCfg)
	ctx := context.Background()
	m1, err := notify.ParseMatcher("target=mp-a")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := notify.ParseMatcher("rule=~spike.*")
	if err != nil {
		t.Fatal(err)
	}
	s, err := notify.AddSilence(ctx, e.db, t0, notify.Silence{Matchers: []notify.Matcher{m1, m2}, EndsAt: t0.Add(4 * time.Hour), Author: "lee", Reason: "known pile-on"})
	if err != nil {
		t.Fatal(err)
	}
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"), alert("b", 1, model.StatusFiring, "spike", "mp-b"))
	e.flushAt(t, t0.Add(time.Minute))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"b#1"}) {
		t.Fatalf("silenced alert sent: %v", got)
	}
	counts, _ := e.db.NoteCounts(ctx)
	if counts[notify.StateSilenced] != 1 {
		t.Fatalf("silenced alert not recorded: %v", counts)
	}
	list, err := notify.ListSilences(ctx, e.db, t0.Add(time.Minute), false)
	if err != nil || len(list) != 1 || list[0].ID != s.ID || list[0].Author != "lee" || !list[0].EndsAt.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := notify.ExpireSilence(ctx, e.db, s.ID, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := notify.ExpireSilence(ctx, e.db, s.ID, t0.Add(3*time.Minute)); err == nil {
		t.Fatal("expiring twice should fail")
	}
	if list, _ := notify.ListSilences(ctx, e.db, t0.Add(3*time.Minute), false); len(list) != 0 {
		t.Fatalf("expired silence listed: %+v", list)
	}
	e.clk.Set(t0.Add(3 * time.Minute))
	e.submit(t, alert("a", 2, model.StatusUpdated, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Hour))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"a#2"}) {
		t.Fatalf("after expiry: %v", got)
	}
	for _, bad := range []notify.Silence{
		{EndsAt: t0.Add(time.Hour), Author: "x", Reason: "y"},
		{Matchers: []notify.Matcher{m1}, EndsAt: t0.Add(-time.Hour), Author: "x", Reason: "y"},
		{Matchers: []notify.Matcher{m1}, EndsAt: t0.Add(time.Hour), Reason: "y"},
	} {
		if _, err := notify.AddSilence(ctx, e.db, t0, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestParseMatcher(t *testing.T) {
	a := alert("a", 1, model.StatusFiring, "spike", "mp-a")
	a.Targets = []string{"mp-a", "mp-b"}
	tests := []struct {
		in      string
		match   bool
		wantErr string
	}{
		{"target=mp-b", true, ""},
		{"target!=mp-b", false, ""},
		{"target!=mp-c", true, ""},
		{"severity=~high|critical", true, ""},
		{"severity!~high|critical", false, ""},
		{"rule=~spike", false, ""}, // anchored
		{"audience=comms", true, ""},
		{"colour=red", false, `unknown label "colour"`},
		{"severity=~(", false, "bad regular expression"},
		{"nothing", false, "want name=value"},
	}
	for _, tt := range tests {
		m, err := notify.ParseMatcher(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got := m.Matches(a); got != tt.match {
			t.Errorf("%s matches = %v", tt.in, got)
		}
		if m.String() != tt.in {
			t.Errorf("String() = %q", m.String())
		}
	}
}

func TestInhibition(t *testing.T) {
	e := newEnv(t, baseCfg)
	narr := alert("n", 1, model.StatusFiring, "narrative", "mp-a")
	narr.Targets = []string{"mp-a", "mp-c"}
	e.submit(t, narr)
	spikeA := alert("sa", 1, model.StatusFiring, "spike", "mp-a")
	spikeB := alert("sb", 1, model.StatusFiring, "spike", "mp-b")
	later := alert("sl", 1, model.StatusFiring, "spike", "mp-a")
	later.WindowStart, later.WindowEnd = t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	e.submit(t, spikeA, spikeB, later)
	// same batch: a narrative and the spike it explains
	narrC := alert("nc", 1, model.StatusFiring, "repeated_narrative", "mp-d")
	spikeD := alert("sd", 1, model.StatusFiring, "spike", "mp-d")
	e.submit(t, spikeD, narrC)
	e.flushAt(t, t0.Add(time.Minute))
	got := eventIDs(e.recs["comms"].take())
	slices.Sort(got)
	if want := []string{"n#1", "nc#1", "sb#1", "sl#1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	counts, _ := e.db.NoteCounts(context.Background())
	if counts[notify.StateInhibited] != 2 {
		t.Fatalf("counts %v", counts)
	}
	// once the narrative resolves, spikes for mp-a go out again
	e.submit(t, alert("n", 2, model.StatusResolved, "narrative", "mp-a"), alert("sa2", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Hour))
	got = eventIDs(e.recs["comms"].take())
	slices.Sort(got)
	if !slices.Equal(got, []string{"n#2", "sa2#1"}) {
		t.Fatalf("after resolution: %v", got)
	}
}

func TestInhibitionCanBeTurnedOff(t *testing.T) {
	e := newEnv(t, baseCfg+"  inhibit_rules: []\n")
	e.submit(t, alert("n", 1, model.StatusFiring, "narrative", "mp-a"), alert("s", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Minute))
	if got := eventIDs(e.recs["comms"].take()); len(got) != 2 {
		t.Fatalf("got %v", got)
	}
}

func TestRoutingFirstMatchContinueAndOps(t *testing.T) {
	e := newEnv(t, `
notify:
  receivers:
    - {name: comms, type: console}
    - {name: team-east, type: console}
    - {name: urgent, type: console}
    - {name: admins, type: console}
  default: {receiver: comms, group_wait: 0s}
  ops_receiver: admins
  routes:
    - {receiver: urgent, match: ["severity=critical"], continue: true}
    - {receiver: team-east, match: ["team=east"]}
    - {receiver: comms, match: ["target=mp-a"]}
`)
	crit := alert("c", 1, model.StatusFiring, "spike", "mp-x")
	crit.Severity = model.SeverityCritical
	crit.Teams = []string{"east"}
	east := alert("e", 1, model.StatusFiring, "spike", "mp-y")
	east.Teams = []string{"east"}
	ops := alert("o", 1, model.StatusFiring, "flatline", "mp-a")
	ops.Audience = model.AudienceOps
	tests := []struct {
		a    model.Alert
		want []string
	}{
		{crit, []string{"urgent", "team-east"}},
		{east, []string{"team-east"}},
		{alert("p", 1, model.StatusFiring, "spike", "mp-z"), []string{"comms"}},
		{ops, []string{"admins"}}, // never comms, though target=mp-a matches a comms route
	}
	for _, tt := range tests {
		if got := e.d.Route(tt.a); !slices.Equal(got, tt.want) {
			t.Errorf("%s: route %v, want %v", tt.a.Key, got, tt.want)
		}
	}
	e.submit(t, ops)
	e.flushAt(t, t0)
	if len(e.recs["comms"].take()) != 0 || len(e.recs["admins"].take()) != 1 {
		t.Fatal("ops alert not delivered to admins only")
	}
}

func TestRetryHonoursRetryAfterThenBacksOff(t *testing.T) {
	e := newEnv(t, baseCfg)
	comms := e.recs["comms"]
	comms.fail = func(n int, _ notify.Message) error {
		switch n {
		case 1:
			return notify.Retryable(errors.New("429 Too Many Requests"), 30*time.Second)
		case 2:
			return errors.New("connection refused") // second attempt: backoff 2s·2 = 4s, then 8s
		case 3:
			return errors.New("connection refused")
		}
		return nil
	}
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	at := t0.Add(30 * time.Second)
	steps := []struct {
		at    time.Duration
		calls int
	}{{0, 1}, {29 * time.Second, 1}, {30 * time.Second, 2}, {33 * time.Second, 2}, {34 * time.Second, 3}, {41 * time.Second, 3}, {42 * time.Second, 4}, {time.Hour, 4}}
	for _, s := range steps {
		e.flushAt(t, at.Add(s.at))
		comms.mu.Lock()
		calls := comms.calls
		comms.mu.Unlock()
		if calls != s.calls {
			t.Fatalf("at +%s: %d calls, want %d", s.at, calls, s.calls)
		}
	}
	if got := eventIDs(comms.take()); !slices.Equal(got, []string{"a#1"}) {
		t.Fatalf("got %v", got)
	}
}

func TestPermanentFailureIsReportedToAdmins(t *testing.T) {
	e := newEnv(t, baseCfg)
	e.recs["comms"].fail = func(int, notify.Message) error {
		return notify.Permanent(errors.New(`post to slack channel "#comms": channel_not_found`))
	}
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(30*time.Second))
	e.flushAt(t, t0.Add(time.Hour))
	e.recs["comms"].mu.Lock()
	calls := e.recs["comms"].calls
	e.recs["comms"].mu.Unlock()
	if calls != 1 {
		t.Fatalf("permanent failure retried: %d calls", calls)
	}
	got := e.recs["admins"].take()
	if len(got) != 1 || got[0].Alerts[0].Rule != notify.RuleDeliveryFailure ||
		!strings.Contains(got[0].Alerts[0].Evidence.Reason, `receiver "comms"`) || !strings.Contains(got[0].Alerts[0].Evidence.Reason, "channel_not_found") {
		t.Fatalf("admins got %+v", got)
	}
	counts, _ := e.db.DeliveryCounts(context.Background())
	if counts["failed"] != 1 || counts["sent"] != 1 {
		t.Fatalf("deliveries %v", counts)
	}
}

func TestGiveUpAfter(t *testing.T) {
	e := newEnv(t, baseCfg+"  delivery: {give_up_after: 1h, max_backoff: 10m}\n")
	e.recs["comms"].fail = func(int, notify.Message) error { return errors.New("503") }
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	for at := 30 * time.Second; at < 3*time.Hour; at += 10 * time.Minute {
		e.flushAt(t, t0.Add(at))
	}
	counts, _ := e.db.DeliveryCounts(context.Background())
	if counts["failed"] != 1 {
		t.Fatalf("deliveries %v", counts)
	}
	if len(e.recs["admins"].take()) != 1 {
		t.Fatal("admins not told")
	}
}

func TestExpiredLeaseIsSentAgain(t *testing.T) {
	e := newEnv(t, baseCfg)
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	// make the delivery, then claim it as a sender that dies mid-send would
	e.recs["comms"].fail = func(int, notify.Message) error { return errors.New("unused") }
	ctx := context.Background()
	at := t0.Add(30 * time.Second)
	if _, err := e.db.AddDelivery(ctx, at, model.OutboxDelivery{Receiver: "comms", GroupKey: "other", Kind: "alert",
		Message: []byte(`{"kind":"alert","receiver":"comms","alerts":[{"key":"x","seq":1}]}`)}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	claimed, err := e.db.ClaimDeliveries(ctx, at, 2*time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v %v", claimed, err)
	}
	e.recs["comms"].fail = nil
	e.flushAt(t, at.Add(time.Minute)) // a#1 goes; x#1 is still leased
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"a#1"}) {
		t.Fatalf("got %v", got)
	}
	e.flushAt(t, at.Add(2*time.Minute))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"x#1"}) {
		t.Fatalf("after the lease: %v", got)
	}
	e.flushAt(t, at.Add(time.Hour))
	if got := e.recs["comms"].take(); len(got) != 0 {
		t.Fatalf("sent again: %v", eventIDs(got))
	}
}

func TestThreadRefFollowsTheAlert(t *testing.T) {
	e := newEnv(t, baseCfg)
	e.recs["comms"].thread = "ts"
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, t0.Add(30*time.Second))
	e.submit(t, alert("a", 2, model.StatusResolved, "spike", "mp-a"))
	e.flushAt(t, t0.Add(time.Hour))
	got := e.recs["comms"].take()
	if len(got) != 2 || got[0].Thread != "" || got[1].Thread != "ts-"+got[0].ID {
		t.Fatalf("threads: %q %q", got[0].Thread, got[1].Thread)
	}
}

func TestQuietHoursHold(t *testing.T) {
	e := newEnv(t, strings.Replace(baseCfg, "type: webhook\n", "type: webhook\n      quiet_hours: {tz: America/Toronto, from: \"22:00\", to: \"07:00\"}\n", 1))
	toronto, _ := time.LoadLocation("America/Toronto")
	night := time.Date(2026, 3, 10, 23, 0, 0, 0, toronto)
	e.clk.Set(night)
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, night.Add(time.Minute))
	e.flushAt(t, night.Add(7*time.Hour))
	if got := e.recs["comms"].take(); len(got) != 0 {
		t.Fatalf("sent in quiet hours: %v", eventIDs(got))
	}
	e.flushAt(t, time.Date(2026, 3, 11, 7, 0, 0, 0, toronto))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"a#1"}) {
		t.Fatalf("after quiet hours: %v", got)
	}
}

func TestDigest(t *testing.T) {
	e := newEnv(t, strings.Replace(baseCfg, "type: webhook\n", "type: webhook\n      digest: {at: \"08:00\", tz: UTC}\n", 1))
	for i, h := range []int{9, 13, 20} {
		e.clk.Set(time.Date(2026, 3, 10, h, 0, 0, 0, time.UTC))
		a := alert(fmt.Sprintf("k%d", i), 1, model.StatusFiring, "spike", fmt.Sprintf("mp-%d", i))
		if i == 2 {
			a.Severity = model.SeverityCritical
		}
		e.submit(t, a)
		e.flushAt(t, e.clk.Now().Add(time.Hour))
	}
	if got := e.recs["comms"].take(); len(got) != 0 {
		t.Fatalf("real-time message to a digest receiver: %v", eventIDs(got))
	}
	e.flushAt(t, time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC))
	got := e.recs["comms"].take()
	if len(got) != 1 || got[0].Kind != notify.KindDigest || len(got[0].Alerts) != 3 || got[0].Alerts[0].Key != "k2" {
		t.Fatalf("digest: %+v", got)
	}
	if title := notify.Title(got[0]); title != "mpwatch digest: 3 alert(s) (1 critical, 2 high)" {
		t.Fatalf("title %q", title)
	}
}

func TestSendTest(t *testing.T) {
	e := newEnv(t, baseCfg)
	if err := e.d.SendTest(context.Background(), "comms"); err != nil {
		t.Fatal(err)
	}
	got := e.recs["comms"].take()
	if len(got) != 1 || got[0].Kind != notify.KindTest || !strings.Contains(notify.Title(got[0]), "TEST") {
		t.Fatalf("got %+v", got)
	}
	if err := e.d.SendTest(context.Background(), "nobody"); err == nil || !strings.Contains(err.Error(), "known: admins, comms") {
		t.Fatalf("err %v", err)
	}
}

func TestRunDeliversAndStops(t *testing.T) {
	e := newEnv(t, strings.Replace(baseCfg, "group_wait: 30s", "group_wait: 0s", 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.d.Run(ctx) }()
	e.submit(t, alert("a", 1, model.StatusFiring, "spike", "mp-a"))
	deadline := time.Now().Add(10 * time.Second)
	for len(eventIDs(peek(e.recs["comms"]))) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"a#1"}) {
		t.Fatalf("got %v", got)
	}
}

func peek(r *recorder) []notify.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func TestQuietHoursDigestMode(t *testing.T) {
	e := newEnv(t, strings.Replace(baseCfg, "type: webhook\n", "type: webhook\n      quiet_hours: {tz: UTC, from: \"22:00\", to: \"07:00\", mode: digest}\n", 1))
	day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	e.clk.Set(day)
	e.submit(t, alert("day", 1, model.StatusFiring, "spike", "mp-a"))
	e.flushAt(t, day.Add(time.Minute))
	if got := eventIDs(e.recs["comms"].take()); !slices.Equal(got, []string{"day#1"}) {
		t.Fatalf("daytime: %v", got)
	}
	for i, h := range []int{23, 2} {
		at := time.Date(2026, 3, 10, h, 0, 0, 0, time.UTC)
		if h < 12 {
			at = at.Add(24 * time.Hour)
		}
		e.clk.Set(at)
		e.submit(t, alert(fmt.Sprintf("night%d", i), 1, model.StatusFiring, "spike", fmt.Sprintf("mp-%d", i)))
		e.flushAt(t, at.Add(time.Hour))
	}
	if got := e.recs["comms"].take(); len(got) != 0 {
		t.Fatalf("sent during quiet hours: %v", eventIDs(got))
	}
	e.flushAt(t, time.Date(2026, 3, 11, 7, 0, 0, 0, time.UTC))
	// the daytime alert's 4h reminder fell in quiet hours too: it was held
	got := e.recs["comms"].take()
	kinds := map[notify.MessageKind][]string{}
	for _, m := range got {
		kinds[m.Kind] = append(kinds[m.Kind], eventIDs([]notify.Message{m})...)
	}
	if len(got) != 2 || !slices.Equal(kinds[notify.KindDigest], []string{"night0#1", "night1#1"}) || !slices.Equal(kinds[notify.KindReminder], []string{"day#1"}) {
		t.Fatalf("at the end of quiet hours: %v", kinds)
	}
}
