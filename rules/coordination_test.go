package rules

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

const coordYAML = `
rules:
  - name: coord
    type: coordination
    co_reply: {time_window: 300s, window: 24h, min_edge_weight: 2, min_component: 3, min_targets: 3}
    burst: {window: 60s, min_accounts: 20}
    resolve_after: 1h
`

// organic is traffic from many independent accounts: each reply picks a
// random target, post and author, at random times over span.
func organic(rng *rand.Rand, n, targets, authors int, from time.Time, span time.Duration) []model.Reply {
	out := make([]model.Reply, n)
	for i := range out {
		tg := "mp-" + itoa(rng.IntN(targets))
		at := from.Add(time.Duration(rng.Int64N(int64(span))))
		out[i] = reply(tg, model.Mastodon, "user"+itoa(rng.IntN(authors)), tg+"-post"+itoa(rng.IntN(4)), at)
	}
	sortReplies(out)
	return out
}

func TestCoordination(t *testing.T) {
	newAcct := t0.Add(-10 * 24 * time.Hour)
	cases := []struct {
		name   string
		input  func() []model.Reply
		at     time.Time
		want   []string // scopes of the findings, by prefix
		verify func(t *testing.T, as []model.Alert)
	}{
		{
			name: "the same accounts co-reply under posts of four MPs",
			input: func() []model.Reply {
				var in []model.Reply
				for k := 0; k < 4; k++ { // four MPs, one post each, an hour apart
					at := t0.Add(time.Duration(k) * time.Hour)
					for a := 0; a < 5; a++ {
						r := reply("mp-"+itoa(k), model.Bluesky, "patriot"+itoa(10000000+a), "post"+itoa(k), at.Add(time.Duration(a*20)*time.Second))
						r.Author.CreatedAt = &newAcct
						in = append(in, r)
					}
				}
				return in
			},
			at:   t0.Add(4 * time.Hour),
			want: []string{"coreply:"},
			verify: func(t *testing.T, as []model.Alert) {
				a := as[0]
				if len(a.Accounts) != 5 || len(a.Targets) != 4 || len(a.ReplyIDs) != 20 {
					t.Errorf("accounts %v targets %v replies %d", a.Accounts, a.Targets, len(a.ReplyIDs))
				}
				s := a.Evidence.Signals
				if s == nil || s.NewAccountShare != 1 || s.DigitHandleShare != 1 || s.Accounts != 5 {
					t.Errorf("signals %+v", s)
				}
				if !strings.Contains(a.Summary, "5 accounts") {
					t.Errorf("summary %q", a.Summary)
				}
			},
		},
		{
			name: "co-replies on one MP only do not make a network",
			input: func() []model.Reply {
				var in []model.Reply
				for k := 0; k < 4; k++ {
					at := t0.Add(time.Duration(k) * time.Hour)
					for a := 0; a < 5; a++ {
						in = append(in, reply("mp-0", model.Bluesky, "fan"+itoa(a), "post"+itoa(k), at.Add(time.Duration(a*20)*time.Second)))
					}
				}
				return in
			},
			at: t0.Add(4 * time.Hour),
		},
		{
			name: "organic traffic from suspicious-looking accounts does not fire",
			input: func() []model.Reply {
				in := organic(rand.New(rand.NewPCG(1, 2)), 3000, 50, 2000, t0, 24*time.Hour)
				for i := range in {
					in[i].Author.CreatedAt = &newAcct // signals alone never fire
					in[i].Author.Handle += "12345678"
				}
				return in
			},
			at: t0.Add(24 * time.Hour),
		},
		{
			name: "a burst of 25 accounts on one MP within 30 seconds",
			input: func() []model.Reply {
				in := organic(rand.New(rand.NewPCG(3, 4)), 500, 20, 400, t0, 2*time.Hour)
				return append(in, spread("mp-7", "p", 25, t0.Add(2*time.Hour), 30*time.Second, "wave")...)
			},
			at:   t0.Add(2*time.Hour + 5*time.Minute),
			want: []string{"burst:target:mp-7"},
			verify: func(t *testing.T, as []model.Alert) {
				if len(as[0].Accounts) != 25 || len(as[0].ReplyIDs) < 6 || as[0].Targets[0] != "mp-7" {
					t.Errorf("burst evidence: %d accounts %d replies", len(as[0].Accounts), len(as[0].ReplyIDs))
				}
			},
		},
		{
			name: "15 accounts in 30 seconds is not a burst",
			input: func() []model.Reply {
				return spread("mp-7", "p", 15, t0.Add(2*time.Hour), 30*time.Second, "wave")
			},
			at: t0.Add(2*time.Hour + 5*time.Minute),
		},
		{
			name: "25 accounts over 10 minutes is not a burst",
			input: func() []model.Reply {
				return spread("mp-7", "p", 25, t0.Add(2*time.Hour), 10*time.Minute, "wave")
			},
			at: t0.Add(2*time.Hour + 15*time.Minute),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, mustParse(t, coordYAML), EngineOptions{})
			e.Ingest(c.input()...)
			got := eval(t, e, c.at)
			if len(got) != len(c.want) {
				t.Fatalf("events %v, want scopes %v", summaries(got), c.want)
			}
			for i, a := range got {
				if a.Status != model.StatusFiring || a.Type != "coordination" || a.Audience != model.AudienceComms {
					t.Errorf("event %d: %+v", i, a)
				}
			}
			if c.verify != nil {
				c.verify(t, got)
			}
			// re-evaluation never duplicates
			if again := eval(t, e, c.at.Add(5*time.Minute)); len(again) != 0 {
				t.Errorf("re-evaluation emitted %v", statuses(again))
			}
		})
	}
}

func TestCoordinationStateRoundTrip(t *testing.T) {
	rs := mustParse(t, coordYAML)
	e := mustEngine(t, rs, EngineOptions{})
	var in []model.Reply
	for k := 0; k < 3; k++ {
		for a := 0; a < 4; a++ {
			in = append(in, reply("mp-"+itoa(k), model.Bluesky, "acct"+itoa(a), "post"+itoa(k), t0.Add(time.Duration(k)*time.Hour+time.Duration(a)*time.Second)))
		}
	}
	// the first two MPs before the save, the third after the restart
	e.Ingest(in[:8]...)
	if got := eval(t, e, t0.Add(2*time.Hour)); len(got) != 0 {
		t.Fatalf("two MPs fired: %v", summaries(got))
	}
	b, err := e.rules[0].det.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	e2 := mustEngine(t, rs, EngineOptions{})
	if err := e2.rules[0].det.UnmarshalState(b); err != nil {
		t.Fatal(err)
	}
	e2.Ingest(in[8:]...)
	if got := eval(t, e2, t0.Add(3*time.Hour)); len(got) != 1 || len(got[0].Accounts) != 4 {
		t.Fatalf("after restore: %v", summaries(got))
	}
}

// TestCoordinationForgetsOldAccounts: the account table shrinks once old
// accounts leave every window, and a network formed afterwards is found
// with the right names.
func TestCoordinationForgetsOldAccounts(t *testing.T) {
	e := mustEngine(t, mustParse(t, coordYAML), EngineOptions{})
	e.Ingest(organic(rand.New(rand.NewPCG(5, 6)), 5000, 50, 5000, t0, 12*time.Hour)...)
	eval(t, e, t0.Add(12*time.Hour))
	d := e.rules[0].det.(*coordDet)
	before := len(d.st.Accts)
	var in []model.Reply
	late := t0.Add(3 * 24 * time.Hour)
	for k := 0; k < 3; k++ {
		for a := 0; a < 4; a++ {
			in = append(in, reply("mp-"+itoa(k), model.Bluesky, "late"+itoa(a), "lp"+itoa(k), late.Add(time.Duration(k)*time.Hour+time.Duration(a)*time.Second)))
		}
	}
	e.Ingest(in...)
	got := eval(t, e, late.Add(3*time.Hour))
	if after := len(d.st.Accts); after >= before || after > 10 {
		t.Errorf("account table %d → %d", before, after)
	}
	if len(got) != 1 || len(got[0].Accounts) != 4 || got[0].Accounts[0] != "bluesky:late0" {
		t.Fatalf("network after compaction: %v", got)
	}
}

// TestBurstOrganicCrowd: a viral post's first minute, by established
// accounts writing their own words, is not a coordinated burst; the same
// minute by new digit-handled accounts, or by old accounts pasting one
// text, is.
func TestBurstOrganicCrowd(t *testing.T) {
	const y = `
rules:
  - name: coord
    type: coordination
    co_reply: {enabled: false}
    burst:
      window: 60s
      min_accounts: 20
      organic: {min_known_share: 0.5, max_new_share: 0.5, max_digit_share: 0.5, max_copy_share: 0.5}
    resolve_after: 1h
`
	at := t0.Add(2 * time.Hour)
	old, young := at.AddDate(-5, 0, 0), at.AddDate(0, 0, -10)
	mk := func(created *time.Time, handle func(i int) string, txt func(i int) string) []model.Reply {
		in := spread("mp-7", "p", 40, at, 30*time.Second, "x")
		for i := range in {
			in[i].Author = model.Author{ID: "a" + itoa(i), Handle: handle(i), CreatedAt: created}
			in[i].Text = txt(i)
		}
		return in
	}
	plain := func(i int) string { return "reader_ott" + itoa(i%7) + "." + itoa(i) }
	digits := func(i int) string { return "noah" + itoa(40000000+i*7919) }
	own := func(i int) string {
		return "Congratulations on the new hospital wing, reply number " + itoa(i) + " from a happy constituent"
	}
	paste := func(int) string { return "Everyone must see what this MP is hiding from the public right now" }
	cases := []struct {
		name string
		in   []model.Reply
		want string
	}{
		{"old accounts, own words: a crowd", mk(&old, plain, own), ""},
		{"new digit-handled accounts: a burst", mk(&young, digits, own), "firing#1"},
		{"old accounts pasting one text: a burst", mk(&old, plain, paste), "firing#1"},
		{"ages unknown: a burst", mk(nil, plain, own), "firing#1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, mustParse(t, y), EngineOptions{})
			e.Ingest(c.in...)
			if got := eval(t, e, at.Add(time.Minute)); statuses(got) != c.want {
				t.Errorf("got %q, want %q (%v)", statuses(got), c.want, summaries(got))
			}
		})
	}
}

// TestBurstAccountCount: a burst queue counts its distinct accounts by
// scanning while it is short and in Counts while it is long (burstSmall);
// either way, and across a save and restore, the count is the accounts in
// the queue, and the saved state has every queue's counts.
func TestBurstAccountCount(t *testing.T) {
	rs := mustParse(t, coordYAML)
	det := func() *coordDet {
		d, err := rs[0].Spec.NewDetector(Env{})
		if err != nil {
			t.Fatal(err)
		}
		return d.(*coordDet)
	}
	d := det()
	rng := rand.New(rand.NewPCG(7, 8))
	check := func(when string, d *coordDet) {
		t.Helper()
		for target, b := range d.st.Bursts {
			want := map[uint32]int{}
			for _, e := range b.Q {
				want[e.Acct]++
			}
			if got := b.accounts(); got != len(want) {
				t.Fatalf("%s: %s has %d accounts, queue has %d (len %d)", when, target, got, len(want), len(b.Q))
			}
			if b.Counts != nil && !maps.Equal(b.Counts, want) {
				t.Fatalf("%s: %s counts %v, queue %v", when, target, b.Counts, want)
			}
			if b.Counts == nil && len(b.Q) > burstSmall {
				t.Fatalf("%s: %s queue of %d without counts", when, target, len(b.Q))
			}
		}
	}
	modes := map[bool]bool{}
	at := t0
	for i := 0; i < 6000; i++ {
		// waves: quiet stretches, then a few hundred replies within
		// seconds from a pool small enough that accounts repeat
		if i%600 < 100 {
			at = at.Add(time.Duration(rng.IntN(20)) * time.Second)
		} else {
			at = at.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		}
		// some replies a few seconds late, as crawls deliver them
		late := time.Duration(rng.IntN(4)) * time.Second
		r := reply("mp-"+itoa(rng.IntN(2)), model.Bluesky, "acct"+itoa(rng.IntN(60)), "p", at.Add(-late))
		d.Observe(&Item{Reply: r})
		check("observe "+itoa(i), d)
		for _, b := range d.st.Bursts {
			modes[b.Counts != nil] = true
		}
		if i%500 == 499 {
			st, err := d.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Bursts map[string]struct{ Counts map[uint32]int }
			}
			if err := json.Unmarshal(st, &raw); err != nil {
				t.Fatal(err)
			}
			for target, b := range raw.Bursts {
				if b.Counts == nil {
					t.Fatalf("saved state of %s has no counts", target)
				}
			}
			check("after save", d)
			d = det()
			if err := d.UnmarshalState(st); err != nil {
				t.Fatal(err)
			}
			check("after restore", d)
		}
	}
	if !modes[true] || !modes[false] {
		t.Fatalf("the stream did not exercise both modes: %v", modes)
	}
}
