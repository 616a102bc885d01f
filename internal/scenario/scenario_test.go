package scenario

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCorpusLoads(t *testing.T) {
	c := LoadCorpus()
	if len(c.EN) < 4000 || len(c.FR) < 40 || len(c.ZH) < 4500 {
		t.Fatalf("corpus sizes en=%d fr=%d zh=%d", len(c.EN), len(c.FR), len(c.ZH))
	}
	spam := YouTubeSpam()
	if len(spam) < 500 {
		t.Fatalf("spam comments = %d", len(spam))
	}
}

func TestGenerateIsDeterministicAndShaped(t *testing.T) {
	start := time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC)
	cfg := DemoConfig(start, 3*24*time.Hour)
	a := Generate(cfg, LoadCorpus())
	b := Generate(cfg, LoadCorpus())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same config gave different scenarios")
	}
	counts := map[string]int{}
	bots := map[string]bool{}
	digits := regexp.MustCompile(`\d{8}$`)
	for i, e := range a.Events {
		if i > 0 && e.Reply.CreatedAt.Before(a.Events[i-1].Reply.CreatedAt) {
			t.Fatal("events not sorted by time")
		}
		if e.Reply.PostID == "" || e.Reply.Target == "" || e.Reply.ID == "" || e.Reply.Text == "" {
			t.Fatalf("incomplete reply %+v", e.Reply)
		}
		counts[e.Source]++
		if strings.HasPrefix(e.Source, "spamouflage") || strings.HasPrefix(e.Source, "wechat") {
			bots[e.Reply.Author.Handle] = true
			if !digits.MatchString(e.Reply.Author.Handle) {
				t.Fatalf("bot handle %q lacks digit suffix", e.Reply.Author.Handle)
			}
			if age := start.Sub(*e.Reply.Author.CreatedAt); age > 50*24*time.Hour {
				t.Fatalf("bot account %s is %v old", e.Reply.Author.Handle, age)
			}
		}
	}
	if counts["spamouflage-accusation"] != 120 || counts["wechat-style-push"] != 25 || counts["popular:mp-priya-singh"] != 260 {
		t.Fatalf("counts %v", counts)
	}
	if len(bots) != 85 {
		t.Fatalf("distinct bots = %d, want 85", len(bots))
	}
	if counts[""] < 1000 {
		t.Fatalf("organic replies = %d", counts[""])
	}
}

func TestObfuscateChangesBytesNotMeaning(t *testing.T) {
	cfg := DemoConfig(time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC), 0)
	s := Generate(cfg, LoadCorpus())
	changed := 0
	for _, e := range s.Events {
		if e.Source == "spamouflage-accusation" && strings.ContainsAny(e.Reply.Text, "аеорсху\u200b\u200c\u2060\ufeff") {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("no campaign copy was obfuscated")
	}
}
