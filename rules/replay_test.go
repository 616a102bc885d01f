package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestReadReplayErrors(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "replay", "bad.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ReadReplay(f, "replies.jsonl")
	want := strings.Join([]string{
		`replies.jsonl:3: unknown field "txt"`,
		`replies.jsonl:5: missing required field(s): id, text`,
		`replies.jsonl:6: invalid JSON: the line ends inside a value`,
		`replies.jsonl:7: unknown platform "mastadon" (known: bluesky, facebook, html, mastodon, rss, x, youtube)`,
		`replies.jsonl:8: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("errors:\n%v\nwant:\n%s", err, want)
	}
}

func TestReadReplayValid(t *testing.T) {
	in := `{"platform":"bluesky","id":"at://did:plc:x/app.bsky.feed.post/3k","target":"mp-a","created_at":"2026-11-02T10:00:00Z","text":"","author":{"handle":"a.bsky.social"}}` + "\n" +
		`{"platform":"rss","id":"n1","kind":"mention","target":"mp-b","created_at":"2026-11-02T09:00:00-05:00","text":"news"}`
	rs, err := ReadReplay(strings.NewReader(in), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Key() != "bluesky:at://did:plc:x/app.bsky.feed.post/3k" || rs[1].Kind != model.KindMention ||
		!rs[1].CreatedAt.Equal(time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", rs)
	}
}

// TestReplayGolden replays a small fixture (organic traffic on three MPs, a
// spike on one, a co-reply network across all three) and compares the JSON
// lines with the golden file. Run with -update to rewrite it.
func TestReplayGolden(t *testing.T) {
	rs, err := LoadFiles([]string{filepath.Join("testdata", "replay", "rules.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("testdata", "replay", "small.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	var events []model.Alert
	st, err := Replay(context.Background(), rs, f, ReplayOptions{Step: 5 * time.Minute}, func(a model.Alert) error {
		events = append(events, a)
		return WriteJSON(&out, a)
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Replies != 507 || st.Events != len(events) || st.Steps < 500 {
		t.Errorf("stats %+v", st)
	}
	golden := filepath.Join("testdata", "replay", "small.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("replay output differs from %s (run go test -run TestReplayGolden -update to accept):\n%s", golden, out.String())
	}
	// what the fixture is about, so a golden rewrite cannot hide a regression
	seen := map[string]bool{}
	for _, a := range events {
		seen[a.Rule+"/"+string(a.Status)] = true
		if a.Rule == "spike" && a.Status == model.StatusFiring && (a.Targets[0] != "mp-a" || len(a.ReplyIDs) < 30) {
			t.Errorf("spike %v", a)
		}
		if a.Rule == "coord" && a.Status == model.StatusFiring && (len(a.Accounts) != 4 || len(a.Targets) != 3) {
			t.Errorf("coordination %v", a)
		}
	}
	for _, k := range []string{"spike/firing", "coord/firing"} {
		if !seen[k] {
			t.Errorf("no %s event", k)
		}
	}
	// every JSON line has exactly the documented keys
	for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		if len(keys) != 14 {
			t.Errorf("keys %v", keys)
		}
	}
}

func TestFormatTextEscapes(t *testing.T) {
	a := model.Alert{Key: "k", Seq: 1, Rule: "r", Type: "spike", Severity: model.SeverityHigh, Status: model.StatusFiring,
		Targets: []string{"mp\x1b[31m"}, Summary: "evil \u202eright-to-left\x07", FiredAt: t0, WindowStart: t0, WindowEnd: t0}
	s := FormatText(a)
	if strings.ContainsAny(s, "\x1b\x07\u202e") || !strings.Contains(s, `mp\u001b[31m`) || !strings.Contains(s, `\u202e`) {
		t.Fatalf("not escaped: %q", s)
	}
	if !strings.HasPrefix(s, "2026-11-02T00:00:00Z FIRING   high     r #1") {
		t.Fatalf("header %q", s)
	}
}

// A step longer than a spike rule's timeframe would leave buckets that no
// evaluation tests: replay refuses it and says what to use.
func TestReplayStepLongerThanTimeframe(t *testing.T) {
	rs := mustParse(t, spikeYAML) // timeframe 1h
	in := []model.Reply{reply("mp-a", model.Mastodon, "a", "p", t0)}
	for _, tc := range []struct {
		step    time.Duration
		wantErr string
	}{
		{5 * time.Minute, ""},
		{time.Hour, ""},
		{2 * time.Hour, `step 2h0m0s is longer than the timeframe of spike rule "spike" (1h0m0s)`},
	} {
		_, err := ReplayReplies(t.Context(), rs, slices.Clone(in), ReplayOptions{Step: tc.step}, func(model.Alert) error { return nil })
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("step %s: %v", tc.step, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("step %s: error %v, want %q", tc.step, err, tc.wantErr)
		}
	}
}
