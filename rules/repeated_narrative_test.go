package rules

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/rules/text"
)

// ntStart is the start of the narrative tests' traffic (a Wednesday 02:00 UTC,
// 10:00 in Beijing).
var ntStart = time.Date(2026, 9, 2, 2, 0, 0, 0, time.UTC)

// ntReply is one reply to target by author at ntStart+off.
func ntReply(id, target, author, body string, off time.Duration) model.Reply {
	return model.Reply{
		Platform: model.Mastodon, ID: id, Target: target, Kind: model.KindReply,
		URL:       "https://social.example/@" + author + "/" + id,
		CreatedAt: ntStart.Add(off), Text: body,
		Author: model.Author{ID: "id-" + author, Handle: author},
	}
}

func ntItem(r model.Reply) *Item { return &Item{Reply: r, Norm: text.Normalize(r.Text)} }

func ntRN(t testing.TB, mod func(*RepeatedNarrativeSpec)) *rnDetector {
	t.Helper()
	s := &RepeatedNarrativeSpec{}
	s.SetDefaults()
	s.Name, s.Type = "copy-paste", "repeated_narrative"
	if mod != nil {
		mod(s)
	}
	var problems []string
	s.Validate(func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	})
	if len(problems) > 0 {
		t.Fatalf("invalid spec: %v", problems)
	}
	d, err := s.NewDetector(Env{})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*rnDetector)
}

func ntObserve(d Detector, rs ...model.Reply) {
	for _, r := range rs {
		d.Observe(ntItem(r))
	}
}

// ntLoad reads replies in the replay format from rules/testdata/narrative.
func ntLoad(t testing.TB, name string) []model.Reply {
	t.Helper()
	f, err := os.Open("testdata/narrative/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []model.Reply
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r model.Reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, r)
	}
	return out
}

// ntOrganic is the real near-topic traffic (Ottawa shooting replies, Weibo
// comments), re-timed into one 40-hour stretch so it all shares a window.
func ntOrganic(t testing.TB) []model.Reply {
	rs := append(ntLoad(t, "pheme_ottawa.jsonl"), ntLoad(t, "weibo_ced.jsonl")...)
	for i := range rs {
		rs[i].CreatedAt = ntStart.Add(time.Duration(i) * 40 * time.Hour / time.Duration(len(rs)))
	}
	return rs
}

// Hostile variants of one narrative, as a campaign posts them.
var (
	ntEN = []string{
		"The MP was accused of serious crimes by a brave critic. Canadians deserve the truth about this scandal.",
		"Тhе МP wаs ассusеd оf sеrious сrimеs by а brаvе critiс. Cаnаdiаns dеsеrvе thе truth аbout this sсаndаl.",
		"The\u200b MP was ac\u200ccused of se\u2060rious crimes by a brave critic.\ufeff Canadians deserve the tr\u200duth about this scandal.",
		"🔥 The MP was accused of serious crimes 😡 by a brave critic. Canadians deserve the truth about this scandal 🇨🇦🇨🇦",
		"Canadians deserve the truth about this scandal. The MP was accused of serious crimes by a brave critic.",
		"@mp_office THE MP WAS ACCUSED of serious crimes by a BRAVE critic!!! Canadians deserve the truth about this scandal https://t.co/x1",
		"Ｔｈｅ ＭＰ was accused of serious crimes by a brave critic. Canadians deserve the truth about this scandal.",
		"The MP was accused of serious crimes by a courageous critic. Canadians deserve the truth about this scandal.",
	}
	ntFR = []string{
		"Le député a été accusé de crimes graves par un critique courageux. Les Canadiens méritent la vérité sur ce scandale.",
		"Le depute a ete accuse de crimes graves par un critique courageux. Les Canadiens meritent la verite sur ce scandale.",
		"Lе député а été ассusé dе сrimеs grаvеs pаr un critique courageux 😡. Les Canadiens méritent la vérité sur ce scandale ‼️",
		"Les Canadiens méritent la vérité sur ce scandale. Le député a été accusé de crimes graves par un critique courageux.",
		"<p>Le député a été accusé de crimes graves par un critique courageux&nbsp;! Les Canadiens méritent la vérité sur ce scandale.</p>",
	}
	ntZH = []string{
		"这位议员被一位勇敢的批评者指控犯有严重罪行，加拿大人应该知道这个丑闻的真相。",
		"這位議員被一位勇敢的批評者指控犯有嚴重罪行，加拿大人應該知道這個醜聞的真相。",
		"这位议员\u200b被一位勇敢的批评者🔥指控犯有严重罪行，加拿大人\u200d应该知道这个丑闻的真相。😡",
		"加拿大人应该知道这个丑闻的真相。这位议员被一位勇敢的批评者指控犯有严重罪行。",
		"这位议员 被一位勇敢的批评者 指控犯有严重罪行!!! 加拿大人应该知道这个丑闻的真相!!!",
	}
)

func ntCampaign(prefix string, texts []string, targets []string, start time.Duration) []model.Reply {
	var out []model.Reply
	for i, body := range texts {
		target := targets[i%len(targets)]
		out = append(out, ntReply(fmt.Sprintf("%s%d", prefix, i), target, fmt.Sprintf("%s_bot%07d", prefix, 1000000+i), body, start+time.Duration(i)*17*time.Minute))
	}
	return out
}

func TestRepeatedNarrativeHostileVariantsClusterOrganicDoNot(t *testing.T) {
	d := ntRN(t, nil)
	organic := ntOrganic(t)
	campaigns := map[string][]model.Reply{
		"en": ntCampaign("en", ntEN, []string{"mp-a", "mp-b", "mp-c"}, time.Hour),
		"fr": ntCampaign("fr", ntFR, []string{"mp-a"}, 2*time.Hour),
		"zh": ntCampaign("zh", ntZH, []string{"mp-b", "mp-c"}, 3*time.Hour),
	}
	// Interleave the campaigns with the organic replies.
	var all []model.Reply
	k := 0
	for i, r := range organic {
		all = append(all, r)
		if i%40 == 0 {
			for _, lang := range []string{"en", "fr", "zh"} {
				if c := campaigns[lang]; k < len(c) {
					all = append(all, c[k])
				}
			}
			k++
		}
	}
	ntObserve(d, all...)
	fs := d.Evaluate(ntStart.Add(41 * time.Hour))
	if len(fs) != 3 {
		for _, f := range fs {
			t.Logf("finding %s: %s", f.Scope, f.Summary)
		}
		t.Fatalf("%d findings, want 3 (en, fr, zh)", len(fs))
	}
	for _, lang := range []string{"en", "fr", "zh"} {
		c := campaigns[lang]
		var f *Finding
		for i := range fs {
			if fs[i].Scope == "cluster:"+c[0].Key() {
				f = &fs[i]
			}
		}
		if f == nil {
			t.Errorf("%s: no finding scoped cluster:%s", lang, c[0].Key())
			continue
		}
		var want []string
		for _, r := range c {
			want = append(want, r.Key())
		}
		if !reflect.DeepEqual(f.ReplyIDs, want) {
			t.Errorf("%s: reply ids %v, want %v", lang, f.ReplyIDs, want)
		}
		if int(f.Size) != len(c) || f.Metrics["accounts"] != float64(len(c)) {
			t.Errorf("%s: size %v, want %d", lang, f.Size, len(c))
		}
		if !f.WindowStart.Equal(c[0].CreatedAt.Truncate(time.Hour)) {
			t.Errorf("%s: window start %v, want %v", lang, f.WindowStart, c[0].CreatedAt.Truncate(time.Hour))
		}
	}
}

func TestRepeatedNarrativeOrganicAlone(t *testing.T) {
	d := ntRN(t, nil)
	ntObserve(d, ntOrganic(t)...)
	if fs := d.Evaluate(ntStart.Add(41 * time.Hour)); len(fs) != 0 {
		for _, f := range fs {
			t.Errorf("organic traffic fired: %s", f.Summary)
		}
	}
}

func TestRepeatedNarrativeDoesNotFire(t *testing.T) {
	long := "The MP was accused of serious crimes by a brave critic. Canadians deserve the truth."
	tests := []struct {
		name    string
		replies []model.Reply
	}{
		{"one account repeating itself", func() []model.Reply {
			var rs []model.Reply
			for i := range 20 {
				rs = append(rs, ntReply(fmt.Sprintf("s%d", i), "mp-a", "same_person", long, time.Duration(i)*time.Minute))
			}
			return rs
		}()},
		{"too short to mean anything", func() []model.Reply {
			var rs []model.Reply
			for i := range 30 {
				rs = append(rs, ntReply(fmt.Sprintf("t%d", i), "mp-a", fmt.Sprintf("fan%d", i), "Thank you so much!!! 👍", time.Duration(i)*time.Minute))
				rs = append(rs, ntReply(fmt.Sprintf("z%d", i), "mp-a", fmt.Sprintf("zfan%d", i), "谢谢你的努力", time.Duration(i)*time.Minute))
			}
			return rs
		}()},
		{"four accounts, one short of min_accounts", func() []model.Reply {
			var rs []model.Reply
			for i := range 4 {
				rs = append(rs, ntReply(fmt.Sprintf("f%d", i), "mp-a", fmt.Sprintf("acct%d", i), long, time.Duration(i)*time.Minute))
			}
			return rs
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ntRN(t, nil)
			ntObserve(d, tt.replies...)
			if fs := d.Evaluate(ntStart.Add(2 * time.Hour)); len(fs) != 0 {
				t.Errorf("fired: %s", fs[0].Summary)
			}
		})
	}
}

func TestRepeatedNarrativeExactCopiesByFiftyAccounts(t *testing.T) {
	d := ntRN(t, nil)
	body := "Check the facts: this MP hides the truth about the foreign donations scandal."
	var rs []model.Reply
	for i := range 50 {
		target := []string{"mp-a", "mp-b"}[i%2]
		rs = append(rs, ntReply(fmt.Sprintf("x%02d", i), target, fmt.Sprintf("user%08d", 10000000+i), body, time.Duration(i)*3*time.Minute))
	}
	// Organic replies to the same targets in between.
	org := ntLoad(t, "pheme_ottawa.jsonl")[:100]
	for i := range org {
		org[i].Target = "mp-a"
		org[i].CreatedAt = ntStart.Add(time.Duration(i) * time.Minute)
	}
	ntObserve(d, org...)
	ntObserve(d, rs...)
	fs := d.Evaluate(ntStart.Add(3 * time.Hour))
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1", len(fs))
	}
	f := fs[0]
	if f.Size != 50 || len(f.ReplyIDs) != 50 || len(f.Accounts) != 50 {
		t.Errorf("size %v, %d reply ids, %d accounts; want 50 each", f.Size, len(f.ReplyIDs), len(f.Accounts))
	}
	if f.Severity != model.SeverityHigh {
		t.Errorf("severity %q, want high (>= 10 accounts)", f.Severity)
	}
	if f.Metrics["exact_copies"] != 50 || f.Metrics["mean_jaccard"] != 1 || f.Metrics["targets"] != 2 {
		t.Errorf("metrics %v", f.Metrics)
	}
	if f.Evidence.Representative != body {
		t.Errorf("representative %q", f.Evidence.Representative)
	}
	if n := len(f.Evidence.Samples); n < 3 || n > 5 {
		t.Errorf("%d samples, want 3-5", n)
	}
	authors := map[string]bool{}
	for _, s := range f.Evidence.Samples {
		if authors[s.Author] {
			t.Errorf("sample author %s repeated", s.Author)
		}
		authors[s.Author] = true
		if s.URL == "" || s.Text != body || s.Target == "" {
			t.Errorf("sample incomplete: %+v", s)
		}
	}
	sig := f.Evidence.Signals
	if sig == nil || sig.Accounts != 50 || sig.DigitHandleShare != 1 {
		t.Errorf("signals %+v, want 50 accounts all with digit handles", sig)
	}
	want := `50 accounts posted the same narrative to 2 MPs within 2h: "Check the facts: this MP hides the truth about the foreign donations scandal."`
	if f.Summary != want || f.Evidence.Reason != want {
		t.Errorf("summary\n got %s\nwant %s", f.Summary, want)
	}
}

func TestRepeatedNarrativeEscalation(t *testing.T) {
	body := "Why is nobody asking about the MP and the hidden offshore accounts in this riding?"
	tests := []struct {
		name    string
		targets []string
		want    model.Severity
	}{
		{"three accounts on three MPs", []string{"mp-a", "mp-b", "mp-c"}, model.SeverityHigh},
		{"three accounts on one MP", []string{"mp-a", "mp-a", "mp-a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ntRN(t, func(s *RepeatedNarrativeSpec) { s.MinAccounts = 3 })
			for i, tg := range tt.targets {
				ntObserve(d, ntReply(fmt.Sprint("e", i), tg, fmt.Sprint("acct", i), body, time.Duration(i)*time.Minute))
			}
			fs := d.Evaluate(ntStart.Add(time.Hour))
			if len(fs) != 1 {
				t.Fatalf("%d findings", len(fs))
			}
			if fs[0].Severity != tt.want {
				t.Errorf("severity %q, want %q", fs[0].Severity, tt.want)
			}
		})
	}
	t.Run("min_new_account_share", func(t *testing.T) {
		old, fresh := ntStart.AddDate(-3, 0, 0), ntStart.AddDate(0, 0, -7)
		for _, tt := range []struct {
			created time.Time
			fire    bool
		}{{old, false}, {fresh, true}} {
			d := ntRN(t, func(s *RepeatedNarrativeSpec) { s.MinAccounts = 3; s.MinNewAccountShare = 0.5 })
			for i := range 4 {
				r := ntReply(fmt.Sprint("n", i), "mp-a", fmt.Sprint("acct", i), body, time.Duration(i)*time.Minute)
				r.Author.CreatedAt = &tt.created
				ntObserve(d, r)
			}
			if fs := d.Evaluate(ntStart.Add(time.Hour)); (len(fs) == 1) != tt.fire {
				t.Errorf("accounts created %v: %d findings, want fire=%v", tt.created, len(fs), tt.fire)
			}
		}
	})
	t.Run("min_targets", func(t *testing.T) {
		d := ntRN(t, func(s *RepeatedNarrativeSpec) { s.MinAccounts = 3; s.MinTargets = 2 })
		for i := range 5 {
			ntObserve(d, ntReply(fmt.Sprint("m", i), "mp-a", fmt.Sprint("acct", i), body, time.Duration(i)*time.Minute))
		}
		if fs := d.Evaluate(ntStart.Add(time.Hour)); len(fs) != 0 {
			t.Errorf("one target fired with min_targets 2")
		}
	})
}

func TestRepeatedNarrativeWindowEvictionAndStableID(t *testing.T) {
	d := ntRN(t, nil)
	for i, body := range ntEN[:5] {
		ntObserve(d, ntReply(fmt.Sprint("w", i), "mp-a", fmt.Sprint("early", i), body, time.Duration(i)*time.Hour))
	}
	fs := d.Evaluate(ntStart.Add(5 * time.Hour))
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1", len(fs))
	}
	scope, start := fs[0].Scope, fs[0].WindowStart
	if scope != "cluster:mastodon:w0" || !start.Equal(ntStart) {
		t.Fatalf("scope %s start %v", scope, start)
	}
	// The cluster grows while its first replies leave the window: it keeps
	// its id.
	for i, body := range ntEN[5:] {
		ntObserve(d, ntReply(fmt.Sprint("l", i), "mp-b", fmt.Sprint("late", i), body, 47*time.Hour+time.Duration(i)*time.Minute))
	}
	ntObserve(d, ntReply("l9", "mp-b", "late9", ntEN[0], 47*time.Hour+30*time.Minute))
	ntObserve(d, ntReply("l10", "mp-b", "late10", ntEN[1], 47*time.Hour+40*time.Minute))
	fs = d.Evaluate(ntStart.Add(50 * time.Hour)) // w0, w1 evicted
	if len(fs) != 1 {
		t.Fatalf("%d findings after eviction, want 1", len(fs))
	}
	if fs[0].Scope != scope || !fs[0].WindowStart.Equal(start) {
		t.Errorf("cluster renamed: %s %v, want %s %v", fs[0].Scope, fs[0].WindowStart, scope, start)
	}
	for _, id := range fs[0].ReplyIDs {
		if id == "mastodon:w0" || id == "mastodon:w1" {
			t.Errorf("evicted reply %s still in the cluster", id)
		}
	}
	if fs[0].Size != 8 {
		t.Errorf("size %v, want 8 (w2-w4 and five late)", fs[0].Size)
	}
	// Everything leaves: the index must be empty.
	if fs := d.Evaluate(ntStart.Add(200 * time.Hour)); len(fs) != 0 {
		t.Errorf("%d findings after the window passed", len(fs))
	}
	if d.lsh.Len() != 0 || d.exact.n != 0 || len(d.big) != 0 || len(d.expiry) != 0 {
		t.Errorf("state left after the window: lsh %d, exact %d, big %d, expiry %d", d.lsh.Len(), d.exact.n, len(d.big), len(d.expiry))
	}
}

// Two clusters joined by a bridging text become one cluster that keeps the
// older cluster's id.
func TestRepeatedNarrativeMergeKeepsOlderID(t *testing.T) {
	a := "The minister lied to parliament about the contract and must resign today, shame on the whole party."
	b := "The minister lied to parliament about the contract and must resign today, we will not forget this betrayal."
	// J(a,b) = 0.57, J(a,bridge) = 0.83, J(b,bridge) = 0.70.
	d := ntRN(t, func(s *RepeatedNarrativeSpec) { s.MinAccounts = 3; s.JaccardMin = 0.65 })
	for i := range 3 {
		ntObserve(d, ntReply(fmt.Sprint("a", i), "mp-a", fmt.Sprint("aa", i), a, time.Duration(i)*time.Minute))
	}
	for i := range 3 {
		ntObserve(d, ntReply(fmt.Sprint("b", i), "mp-a", fmt.Sprint("bb", i), b, 2*time.Hour+time.Duration(i)*time.Minute))
	}
	fs := d.Evaluate(ntStart.Add(3 * time.Hour))
	if len(fs) != 2 {
		t.Fatalf("%d findings before the bridge, want 2 (J(a,b) = %.2f)", len(fs), text.Jaccard(text.Shingles(text.Normalize(a).Folded), text.Shingles(text.Normalize(b).Folded)))
	}
	bridge := "The minister lied to parliament about the contract and must resign today, shame on the whole party, we will not forget."
	ntObserve(d, ntReply("bridge", "mp-a", "bridger", bridge, 2*time.Hour+30*time.Minute))
	fs = d.Evaluate(ntStart.Add(3 * time.Hour))
	if len(fs) != 1 {
		t.Fatalf("%d findings after the bridge, want 1", len(fs))
	}
	if fs[0].Scope != "cluster:mastodon:a0" || fs[0].Size != 7 {
		t.Errorf("merged cluster %s size %v, want cluster:mastodon:a0 size 7", fs[0].Scope, fs[0].Size)
	}
}

func TestRepeatedNarrativeStateRoundTrip(t *testing.T) {
	d := ntRN(t, nil)
	ntObserve(d, ntOrganic(t)[:200]...)
	ntObserve(d, ntCampaign("en", ntEN, []string{"mp-a", "mp-b"}, time.Hour)...)
	ntObserve(d, ntCampaign("zh", ntZH, []string{"mp-c"}, 2*time.Hour)...)
	now := ntStart.Add(30 * time.Hour)
	want := d.Evaluate(now)
	if len(want) != 2 {
		t.Fatalf("%d findings, want 2", len(want))
	}
	st, err := d.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	d2 := ntRN(t, nil)
	if err := d2.UnmarshalState(st); err != nil {
		t.Fatal(err)
	}
	got := d2.Evaluate(now)
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("findings differ after restart\n got %s\nwant %s", gj, wj)
	}
	// The restored detector keeps clustering new copies under the same id.
	ntObserve(d2, ntReply("after", "mp-d", "newcomer", ntEN[0], 20*time.Hour))
	got = d2.Evaluate(now)
	found := false
	for _, f := range got {
		if f.Scope == want[0].Scope || f.Scope == want[1].Scope {
			if f.Size == float64(len(ntEN)+1) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("new copy after restart did not join its cluster: %+v", got)
	}
	if err := d2.UnmarshalState([]byte(`{"version":9}`)); err == nil {
		t.Error("unknown state version accepted")
	}
}

// The UCI YouTube spam set holds a real copy-paste campaign: the same short
// texts ("Check out this video on YouTube:") posted by distinct accounts over
// months. With a window that spans the file the rule must find them, and its
// clusters must hold spam only. (The file's "EXTRAORDINARY website" spam
// appends random word salad to each copy, Jaccard 0.38-0.55 between copies:
// set similarity does not catch that trick, and the test does not pretend
// it does.)
func TestRepeatedNarrativeYouTubeSpam(t *testing.T) {
	f, err := os.Open("testdata/narrative/youtube05-shakira.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	d := ntRN(t, func(s *RepeatedNarrativeSpec) { s.Window = yamlx.Duration(3 * 365 * 24 * time.Hour); s.MinAccounts = 3 })
	spam := map[string]bool{}
	var last time.Time
	for _, row := range rows[1:] {
		at, err := time.Parse("2006-01-02T15:04:05", strings.SplitN(row[2], ".", 2)[0])
		if err != nil {
			t.Fatalf("date %q: %v", row[2], err)
		}
		if at.After(last) {
			last = at
		}
		r := model.Reply{Platform: model.YouTube, ID: row[0], Target: "shakira", CreatedAt: at, Text: row[3],
			URL: "https://www.youtube.com/watch?v=pRpeEdMmmQ0&lc=" + row[0], Author: model.Author{ID: row[1], Name: row[1]}}
		if row[4] == "1" {
			spam[r.Key()] = true
		}
		d.Observe(ntItem(r))
	}
	fs := d.Evaluate(last.Add(time.Hour))
	reps := map[string]float64{}
	for _, f := range fs {
		for _, id := range f.ReplyIDs {
			if !spam[id] {
				t.Errorf("ham reply %s in cluster %q", id, f.Evidence.Representative)
			}
		}
		reps[strings.ToLower(strings.TrimSpace(strings.Trim(f.Evidence.Representative, "\ufeff")))] = f.Size
	}
	for rep, want := range map[string]float64{"check out this video on youtube:": 5, "check out this playlist on youtube:": 4} {
		if reps[rep] != want {
			t.Errorf("cluster %q has %v accounts, want %v (clusters: %v)", rep, reps[rep], want, reps)
		}
	}
}

func TestRepeatedNarrativeValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*RepeatedNarrativeSpec)
		want string
	}{
		{"min accounts", func(s *RepeatedNarrativeSpec) { s.MinAccounts = 1 }, "min_accounts: must be at least 2, got 1 (one account repeating itself is not a campaign)"},
		{"jaccard", func(s *RepeatedNarrativeSpec) { s.JaccardMin = 1.5 }, "jaccard_min: must be in (0, 1], got 1.5"},
		{"jaccard low", func(s *RepeatedNarrativeSpec) { s.JaccardMin = 0.1 }, "jaccard_min: 0.1 would group unrelated replies on the same topic; use 0.5 or more"},
		{"window", func(s *RepeatedNarrativeSpec) { s.Window = 0 }, "window: must be at least 1m, got 0s"},
		{"bands", func(s *RepeatedNarrativeSpec) { s.MinHash.Bands = 0 }, "minhash.bands: must be between 1 and 64, got 0"},
		{"escalate severity", func(s *RepeatedNarrativeSpec) { s.Escalate.Severity = "urgent" }, `escalate.severity: unknown severity "urgent" (known: info, warning, high, critical)`},
		{"signals zone", func(s *RepeatedNarrativeSpec) { s.Signals.OfficeHoursZone = "Mars/Olympus" }, `signals.office_hours_zone: unknown time zone "Mars/Olympus" (use an IANA name such as Asia/Shanghai)`},
		{"signals hours", func(s *RepeatedNarrativeSpec) { s.Signals.OfficeHours = []string{"09-12", "18-14"} }, `signals.office_hours[1]: hour range "18-14" must be HH-HH with 0 <= start < end <= 24, e.g. 09-12`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &RepeatedNarrativeSpec{}
			s.SetDefaults()
			tt.mod(s)
			var got []string
			s.Validate(func(key, format string, args ...any) { got = append(got, key+": "+fmt.Sprintf(format, args...)) })
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("problems %q, want [%q]", got, tt.want)
			}
		})
	}
	s := &RepeatedNarrativeSpec{}
	s.SetDefaults()
	s.Validate(func(key, format string, args ...any) { t.Errorf("defaults invalid: %s", key) })
}

func TestComputeSignals(t *testing.T) {
	now := ntStart
	old := now.Add(-400 * 24 * time.Hour)
	fresh := now.Add(-10 * 24 * time.Hour)
	authors := []model.Author{
		{Handle: "maple12345678", CreatedAt: &fresh, Followers: 2, DefaultAvatar: true},
		{Handle: "@bot998877@spam.example", CreatedAt: &fresh, Followers: 0, Posts: 3},
		{Handle: "real.person.bsky.social", CreatedAt: &old, Followers: 500},
		{Name: "Anonymous"}, // html comment: nothing known
	}
	bj := func(h int) time.Time { return time.Date(2026, 9, 2, h-8, 30, 0, 0, time.UTC) } // Beijing hour h
	times := []time.Time{bj(10), bj(15), bj(20), bj(13)}
	got := ComputeSignals(authors, times, now, DefaultSignalConfig())
	want := model.AccountSignals{
		Accounts:           4,
		NewAccountShare:    0.667, // 2 of 3 dated
		DigitHandleShare:   0.667, // 2 of 3 handles end in >= 6 digits
		LowFollowerShare:   0.667, // 2 of 3 known profiles
		DefaultAvatarShare: 0.333,
		OfficeHoursZone:    "Asia/Shanghai",
		OfficeHoursShare:   0.75, // 13:00 is the lunch gap
	}
	// Score: mean of the four shares and the office-hours excess over the
	// 10 office hours of 24: (0.75-10/24)/(1-10/24) = 0.571.
	want.Score = 0.581
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if empty := ComputeSignals(nil, nil, now, DefaultSignalConfig()); empty.Score != 0 || empty.Accounts != 0 {
		t.Errorf("no authors: %+v", empty)
	}
}

// BenchmarkRepeatedNarrative observes 100,000 replies and reports
// throughput and the memory the window retains per reply. The organic part
// is synthetic but drawn from real text: English replies are 8-40 words
// sampled with their real frequencies from the Ottawa replies, Chinese ones
// 6-20 two-character chunks sampled from the Weibo comments, so they share
// topic words without being copies. 2 % are the campaign's hostile variants.
// Normalisation is done before the timing: the engine does it once for all
// rules.
func BenchmarkRepeatedNarrative(b *testing.B) {
	const n = 100_000
	var words []string
	for _, r := range ntLoad(b, "pheme_ottawa.jsonl") {
		words = append(words, strings.Fields(r.Text)...)
	}
	var chunks []string
	for _, r := range ntLoad(b, "weibo_ced.jsonl") {
		rs := []rune(r.Text)
		for k := 0; k+2 <= len(rs); k += 2 {
			chunks = append(chunks, string(rs[k:k+2]))
		}
	}
	variants := append(append(append([]string{}, ntEN...), ntFR...), ntZH...)
	items := make([]Item, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range items {
		var body string
		switch {
		case i%50 == 0:
			body = variants[(i/50)%len(variants)]
		case i%5 == 0:
			var sb strings.Builder
			for range 6 + rng.IntN(15) {
				sb.WriteString(chunks[rng.IntN(len(chunks))])
			}
			body = sb.String()
		default:
			parts := make([]string, 8+rng.IntN(33))
			for k := range parts {
				parts[k] = words[rng.IntN(len(words))]
			}
			body = strings.Join(parts, " ")
		}
		r := ntReply(fmt.Sprint("b", i), fmt.Sprint("mp-", i%40), fmt.Sprintf("acct%07d", i%30000), body, time.Duration(i)*time.Second)
		items[i] = Item{Reply: r, Norm: text.Normalize(body)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var retained, stateBytes float64
	for k := 0; k < b.N; k++ {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		d := ntRN(b, nil)
		b.StartTimer()
		for i := range items {
			// Fresh strings, as the engine's replies are: what the
			// detector keeps of them counts as retained.
			it := items[i]
			it.Reply.Text, it.Reply.URL, it.Reply.ID = strings.Clone(it.Reply.Text), strings.Clone(it.Reply.URL), strings.Clone(it.Reply.ID)
			it.Reply.Author.ID, it.Reply.Author.Handle = strings.Clone(it.Reply.Author.ID), strings.Clone(it.Reply.Author.Handle)
			d.Observe(&it)
		}
		d.Evaluate(ntStart.Add(n * time.Second))
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		retained = float64(after.HeapAlloc-before.HeapAlloc) / n
		st, err := d.MarshalState()
		if err != nil {
			b.Fatal(err)
		}
		stateBytes = float64(len(st)) / n
		runtime.KeepAlive(d)
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "replies/s")
	b.ReportMetric(retained, "B/reply")
	b.ReportMetric(stateBytes, "state-B/reply")
}

func TestTextClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"plain text", 280, "plain text"},
		{"a\u200bc\u200dc\ufeff  d\n\te\u202e", 280, "acc d e"},
		{"Тhе МP 🔥\uFE0F", 280, "Тhе МP 🔥"}, // homoglyphs and emoji stay
		{"abcdefghij", 5, "abcd…"},
		{"这是一个很长的句子", 4, "这是一…"},
		{"", 5, ""},
	}
	for _, tt := range tests {
		if got := textClip(tt.in, tt.n); got != tt.want {
			t.Errorf("textClip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// The incremental clusters (spanning edges, eviction with repair) must match
// the connected components of the exact "Jaccard >= jaccard_min" graph over
// the replies in the window, computed by brute force, through several
// evaluations as the window slides.
func TestRepeatedNarrativeMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var bases [][]string
	words := strings.Fields(strings.Join(ntEN, " ") + " " + strings.Join(ntFR, " "))
	for range 8 {
		w := make([]string, 18)
		for k := range w {
			w[k] = words[rng.IntN(len(words))]
		}
		bases = append(bases, w)
	}
	org := ntLoad(t, "pheme_ottawa.jsonl")
	var rs []model.Reply
	for i := range 600 {
		var body string
		if i%3 == 0 {
			body = org[rng.IntN(len(org))].Text
		} else {
			b := bases[rng.IntN(len(bases))]
			var w []string
			for _, x := range b {
				if rng.IntN(8) != 0 { // drop about one word in eight
					w = append(w, x)
				}
			}
			body = strings.Join(w, " ")
		}
		rs = append(rs, ntReply(fmt.Sprint("p", i), fmt.Sprint("mp-", rng.IntN(4)), fmt.Sprint("acct", rng.IntN(300)), body, time.Duration(rng.IntN(96*60))*time.Minute))
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].CreatedAt.Before(rs[j].CreatedAt) })
	d := ntRN(t, func(s *RepeatedNarrativeSpec) { s.MinAccounts = 3; s.Window = yamlx.Duration(24 * time.Hour) })
	next := 0
	for now := 6 * time.Hour; now <= 97*time.Hour; now += 7 * time.Hour {
		// Observe what was created up to now, so slots freed by eviction
		// are reused by later replies.
		for ; next < len(rs) && !rs[next].CreatedAt.After(ntStart.Add(now)); next++ {
			ntObserve(d, rs[next])
		}
		got := map[string]bool{}
		for _, f := range d.Evaluate(ntStart.Add(now)) {
			got[strings.Join(f.ReplyIDs, ",")] = true
		}
		want := ntBruteClusters(rs[:next], ntStart.Add(now-24*time.Hour), 0.6, 3)
		if len(want) < 3 {
			t.Fatalf("at +%v only %d brute-force clusters: the test data is too easy", now, len(want))
		}
		// Precision is exact: every detector cluster lies inside one
		// brute-force cluster (pairs are confirmed by exact Jaccard).
		// Recall is probabilistic: LSH misses about 2 % of pairs at
		// J = 0.6-0.7, which can leave a reply out or split a cluster.
		inside := map[string]string{}
		wantMembers := 0
		for w := range want {
			for _, k := range strings.Split(w, ",") {
				inside[k] = w
				wantMembers++
			}
		}
		gotMembers := 0
		for g := range got {
			keys := strings.Split(g, ",")
			gotMembers += len(keys)
			for _, k := range keys {
				if inside[k] != inside[keys[0]] || inside[k] == "" {
					t.Errorf("at +%v: detector cluster %s joins replies brute force keeps apart (%s)", now, g, k)
					break
				}
			}
		}
		if float64(gotMembers) < 0.95*float64(wantMembers) {
			t.Errorf("at +%v: detector clusters hold %d replies, brute force %d (recall < 95 %%)", now, gotMembers, wantMembers)
		}
		t.Logf("at +%v: %d/%d clustered replies found, %d/%d clusters identical", now, gotMembers, wantMembers, ntCountSame(got, want), len(want))
	}
}

func ntCountSame(a, b map[string]bool) int {
	n := 0
	for k := range a {
		if b[k] {
			n++
		}
	}
	return n
}

// ntBruteClusters compares every pair of eligible replies (own words only,
// long enough) created at or after from, joins pairs at Jaccard >= jmin or with equal normalised text,
// and returns the components with at least minAccounts authors as their
// reply keys in time order, joined by commas.
func ntBruteClusters(rs []model.Reply, from time.Time, jmin float64, minAccounts int) map[string]bool {
	type el struct {
		r   model.Reply
		txt string
		set []uint16
	}
	var els []el
	for _, r := range rs {
		if r.CreatedAt.Before(from) {
			continue
		}
		own, _ := rnOwnWords(r.Text)
		n := text.Normalize(own)
		if n.Latin*13+n.Han*25 < 25*13 {
			continue
		}
		els = append(els, el{r, n.Text, text.Compact16(text.Shingles(n.Folded), nil)})
	}
	uf := text.NewUnionFind(len(els))
	for i := range els {
		for j := i + 1; j < len(els); j++ {
			if els[i].txt == els[j].txt || text.Jaccard(els[i].set, els[j].set) >= jmin {
				uf.Union(int32(i), int32(j))
			}
		}
	}
	comps := map[int32][]model.Reply{}
	for i, e := range els {
		root := uf.Find(int32(i))
		comps[root] = append(comps[root], e.r)
	}
	out := map[string]bool{}
	for _, c := range comps {
		authors := map[string]bool{}
		for _, r := range c {
			authors[r.Author.ID] = true
		}
		if len(authors) < minAccounts {
			continue
		}
		sort.Slice(c, func(i, j int) bool {
			if !c[i].CreatedAt.Equal(c[j].CreatedAt) {
				return c[i].CreatedAt.Before(c[j].CreatedAt)
			}
			return c[i].Key() < c[j].Key()
		})
		var keys []string
		for _, r := range c {
			keys = append(keys, r.Key())
		}
		out[strings.Join(keys, ",")] = true
	}
	return out
}

// BenchmarkNarrativeRulesVsBarePass compares a bare pass (normalise each
// reply) with the same pass feeding both text rules (repeated_narrative and
// the example accusation lexicon), evaluating every 1,000 replies, on the
// same traffic as BenchmarkRepeatedNarrative. The budget for all rules is 3×
// the bare pass; "ratio" is what these two rules take of it.
func BenchmarkNarrativeRulesVsBarePass(b *testing.B) {
	const n = 50_000
	var words []string
	for _, r := range ntLoad(b, "pheme_ottawa.jsonl") {
		words = append(words, strings.Fields(r.Text)...)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	variants := append(append(append([]string{}, ntEN...), ntFR...), ntZH...)
	replies := make([]model.Reply, n)
	for i := range replies {
		body := variants[i%len(variants)]
		if i%50 != 0 {
			parts := make([]string, 8+rng.IntN(33))
			for k := range parts {
				parts[k] = words[rng.IntN(len(words))]
			}
			body = strings.Join(parts, " ")
		}
		replies[i] = ntReply(fmt.Sprint("v", i), fmt.Sprint("mp-", i%40), fmt.Sprintf("acct%07d", i%20000), body, time.Duration(i)*3*time.Second)
	}
	text.T2SError()
	var bare, full time.Duration
	for k := 0; k < b.N; k++ {
		start := time.Now()
		for i := range replies {
			_ = text.Normalize(replies[i].Text)
		}
		bare += time.Since(start)

		rn, lx := ntRN(b, nil), ntLex(b, nil)
		start = time.Now()
		for i := range replies {
			it := Item{Reply: replies[i], Norm: text.Normalize(replies[i].Text)}
			rn.Observe(&it)
			lx.Observe(&it)
			if i%1000 == 999 {
				now := replies[i].CreatedAt
				rn.Evaluate(now)
				lx.Evaluate(now)
			}
		}
		full += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/bare.Seconds(), "bare-replies/s")
	b.ReportMetric(float64(n*b.N)/full.Seconds(), "rules-replies/s")
	b.ReportMetric(full.Seconds()/bare.Seconds(), "ratio")
}

// Evaluations between changes reuse a cluster's finding; a new reply or an
// eviction rebuilds it.
func TestRepeatedNarrativeFindingCache(t *testing.T) {
	d := ntRN(t, nil)
	ntObserve(d, ntCampaign("en", ntEN[:6], []string{"mp-a"}, 0)...)
	now := ntStart.Add(3 * time.Hour)
	a, _ := json.Marshal(d.Evaluate(now))
	b, _ := json.Marshal(d.Evaluate(now.Add(time.Minute)))
	if string(a) != string(b) {
		t.Errorf("unchanged cluster, different finding:\n%s\n%s", a, b)
	}
	ntObserve(d, ntReply("more", "mp-b", "another", ntEN[6], 2*time.Hour))
	fs := d.Evaluate(now.Add(2 * time.Minute))
	if len(fs) != 1 || fs[0].Size != 7 || len(fs[0].Targets) != 2 {
		t.Errorf("after a new copy: %+v", fs)
	}
	fs = d.Evaluate(ntStart.Add(48*time.Hour + 30*time.Minute)) // en0 (0m) and en1 (17m) leave
	if len(fs) != 1 || fs[0].Size != 5 {
		t.Errorf("after eviction: %+v", fs)
	}
}

// rnNeed is exactly the threshold link's Jaccard comparison implies.
func TestRNNeed(t *testing.T) {
	for _, jmin := range []float64{0.3, 0.5, 0.6, 0.7, 0.85, 1} {
		for la := 1; la <= 300; la += 7 {
			for lb := 1; lb <= 300; lb += 11 {
				need := rnNeed(la, lb, jmin)
				for inter := 0; inter <= min(la, lb); inter++ {
					reaches := float64(inter)/float64(la+lb-inter) >= jmin
					if reaches != (inter >= need) {
						t.Fatalf("jmin %g, sizes %d and %d: need %d, but %d common shingles reach it: %v", jmin, la, lb, need, inter, reaches)
					}
				}
			}
		}
	}
}

// ntMixedStream is copies rounds of the organic replies (repeats are exact
// copies) with an English and a Chinese campaign, in time order.
func ntMixedStream(t *testing.T, copies int) []model.Reply {
	var all []model.Reply
	for k := range copies {
		for _, r := range ntOrganic(t) {
			r.ID += fmt.Sprint("-", k)
			r.Author.ID += fmt.Sprint("-", k)
			r.CreatedAt = r.CreatedAt.Add(time.Duration(k) * time.Minute)
			all = append(all, r)
		}
	}
	all = append(all, ntCampaign("en", ntEN, []string{"mp-a", "mp-b", "mp-c"}, time.Hour)...)
	all = append(all, ntCampaign("zh", ntZH, []string{"mp-b"}, 2*time.Hour)...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.Before(all[j].CreatedAt) })
	return all
}

// ntSameWindow fails unless two detectors fed the same replies report the
// same findings and state and hold the same near-copy edges. The edges
// record which candidates were verified, in which order.
func ntSameWindow(t *testing.T, a, b *rnDetector, names string) {
	t.Helper()
	now := ntStart.Add(41 * time.Hour)
	fa, _ := json.Marshal(a.Evaluate(now))
	fb, _ := json.Marshal(b.Evaluate(now))
	if string(fa) != string(fb) || len(fa) < 100 {
		t.Errorf("findings differ (%s):\n%s\n%s", names, fa, fb)
	}
	sa, _ := a.MarshalState()
	sb, _ := b.MarshalState()
	if string(sa) != string(sb) {
		t.Errorf("states differ (%s)", names)
	}
	edges := 0
	for s := range a.nodes {
		var ea, eb []rnEdge
		if a.nodes[s] != nil {
			ea = a.nodes[s].edges()
		}
		if b.nodes[s] != nil {
			eb = b.nodes[s].edges()
		}
		edges += len(ea)
		if !slices.Equal(ea, eb) {
			t.Errorf("slot %d: edges differ (%s): %v, %v", s, names, ea, eb)
		}
	}
	if edges < 20 {
		t.Errorf("only %d edges: the campaigns did not link", edges)
	}
}

// Batching the text work (flush) gives the same window, clusters and
// findings as indexing each reply as it is observed: a batch walks the
// index as it was before the batch and adds its own earlier texts, and
// must pick the same candidates.
func TestRepeatedNarrativeBatchedSameAsOneByOne(t *testing.T) {
	all := ntMixedStream(t, 4) // enough replies to fill a batch
	if len(all) <= rnBatch {
		t.Fatalf("%d replies: too few to fill a batch of %d", len(all), rnBatch)
	}
	one, batched := ntRN(t, nil), ntRN(t, nil)
	for _, r := range all {
		one.Observe(ntItem(r))
		one.flush()
		batched.Observe(ntItem(r))
	}
	if len(batched.pend) == 0 {
		t.Fatal("nothing pending: the batched detector did not batch")
	}
	ntSameWindow(t, one, batched, "one by one, batched")
}

// The engine prepares each reply's text work on its normalising goroutines
// (Preparer); a detector fed prepared items must end as one doing the work
// itself.
func TestRepeatedNarrativePreparedSameAsDirect(t *testing.T) {
	direct, prepared := ntRN(t, nil), ntRN(t, nil)
	used := 0
	for _, r := range ntMixedStream(t, 3) {
		direct.Observe(ntItem(r))
		it := ntItem(r)
		v := prepared.prepper.Prepare(it)
		if v.(*rnPrep) != nil {
			used++
		}
		it.prep = []itemPrep{{by: prepared.prepper, v: v}}
		prepared.Observe(it)
	}
	if used < 50 {
		t.Fatalf("only %d prepared texts", used)
	}
	ntSameWindow(t, direct, prepared, "direct, prepared")
}

// Members keep the platform's reply id, not the key, and rebuild the key as
// platform:id; a saved key of any other form must come back unchanged.
func TestRepeatedNarrativeStateKeepsOddKeys(t *testing.T) {
	d := ntRN(t, nil)
	ntObserve(d, ntCampaign("en", ntEN, []string{"mp-a"}, time.Hour)...)
	now := ntStart.Add(30 * time.Hour)
	if len(d.Evaluate(now)) != 1 {
		t.Fatal("campaign did not fire")
	}
	st, err := d.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	var s rnState
	if err := json.Unmarshal(st, &s); err != nil {
		t.Fatal(err)
	}
	odd := "legacy-key-without-platform"
	s.Nodes[0].Members[0].Key = odd
	st, _ = json.Marshal(s)
	d2 := ntRN(t, nil)
	if err := d2.UnmarshalState(st); err != nil {
		t.Fatal(err)
	}
	st2, err := d2.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if string(st2) != string(st) {
		t.Errorf("state changed across a round trip\n got %s\nwant %s", st2, st)
	}
	if !strings.Contains(string(st2), `"k":"`+odd+`"`) {
		t.Errorf("odd key lost: %s", st2)
	}
}

func TestRNMinHits(t *testing.T) {
	for _, tc := range []struct {
		bands, rows int
		jmin        float64
		want        int
	}{
		{30, 4, 0.6, 2}, // the shipped banding: 0.915 of pairs at 0.6 share two bands
		{20, 5, 0.6, 1}, // the default: 0.47 would
		{1, 1, 0.6, 1},  // two bands cannot be shared
		{2, 1, 0.9, 1},  // 0.81
		{64, 1, 0.5, 2},
		{30, 4, 0.5, 1},
	} {
		if got := rnMinHits(tc.bands, tc.rows, tc.jmin); got != tc.want {
			t.Errorf("rnMinHits(%d, %d, %g) = %d, want %d", tc.bands, tc.rows, tc.jmin, got, tc.want)
		}
	}
}

// Only the replier's own words are compared: retweets (RT), modified
// retweets (MT) and quotes carry someone else's.
func TestRNOwnWords(t *testing.T) {
	cases := []struct {
		in, want string
		quoted   bool
	}{
		{"An ordinary reply about the bridge vote", "An ordinary reply about the bridge vote", false},
		{"Email me @ the office", "Email me @ the office", false},
		{"RT @CBCAlerts: Gunman shot dead inside Parliament", "", true},
		{"MT @CBCAlerts: Gunman shot dead inside Parliament", "", true},
		{"  MT: @globeandmail Attack on Parliament", "", true},
		{"Soldier shot, shooter still at large MT @globeandmail: Attack on Parliament", "Soldier shot, shooter still at large", true},
		{"Shame RT @a: one MT @b: two", "Shame", true},
		{"Dear Canada MT @CBCOttawa CONFIRMED | 1 shooter shot dead", "Dear Canada", true},
		{"So true “@mp: we will fix it” not", "So true   not", true},
		{"Agreed \"@mp: budget day", "Agreed ", true},
		{"SMT @x is not a retweet", "SMT @x is not a retweet", false},
	}
	for _, c := range cases {
		got, quoted := rnOwnWords(c.in)
		if got != c.want || quoted != c.quoted {
			t.Errorf("rnOwnWords(%q) = %q, %v; want %q, %v", c.in, got, quoted, c.want, c.quoted)
		}
	}
}

// TestRNExact checks the exact-copy table against a map through random
// inserts and deletes, with hashes crowded into a few tags and homes so
// that runs wrap around the table and backward shifts cross them.
func TestRNExact(t *testing.T) {
	for _, tags := range []uint64{64, 1 << 32} {
		var x rnExact
		want := map[uint64]int32{}
		var hashes []uint64
		var free []int32
		seed := uint64(12345)
		rnd := func() uint64 {
			seed ^= seed << 13
			seed ^= seed >> 7
			seed ^= seed << 17
			return seed
		}
		for step := 0; step < 20000; step++ {
			if r := rnd() % 10; r < 6 || len(want) == 0 {
				// 64 tags, half of them placed at the table's end, make
				// long runs that wrap around
				tag := uint32(rnd()%tags) - 32
				h := uint64(tag)<<32 | rnd()&0xffffffff
				if _, ok := want[h]; ok {
					continue
				}
				var slot int32
				if k := len(free); k > 0 {
					slot, free = free[k-1], free[:k-1]
				} else {
					slot = int32(len(hashes))
					hashes = append(hashes, 0)
				}
				hashes[slot] = h
				x.put(h, slot, hashes)
				want[h] = slot
			} else {
				for h, slot := range want {
					x.del(h, slot)
					delete(want, h)
					free = append(free, slot)
					break
				}
			}
			if step%997 == 0 || step > 19900 {
				if x.n != len(want) {
					t.Fatalf("step %d: %d entries, want %d", step, x.n, len(want))
				}
				for h, slot := range want {
					if got, ok := x.get(h, hashes); !ok || got != slot {
						t.Fatalf("step %d: get(%#x) = %d, %v; want %d", step, h, got, ok, slot)
					}
				}
			}
		}
		for h := range want {
			if _, ok := x.get(h^1<<62, hashes); ok {
				if _, in := want[h^1<<62]; !in {
					t.Fatalf("get(%#x) found a hash never put", h^1<<62)
				}
			}
		}
	}
}
