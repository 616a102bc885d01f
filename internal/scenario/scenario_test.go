package scenario

import (
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/rules/text"
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

// TestStorylinesAreDistinct: two campaigns' stories must not read as one
// narrative, while one story's copies must.
func TestStorylinesAreDistinct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const name = "Anne Tremblay"
	sets := func(f Family, lang string, n int) [][]uint32 {
		var out [][]uint32
		for i := 0; i < n; i++ {
			out = append(out, text.Shingles(text.Normalize(f.Render(r, lang, name, true)).Folded))
		}
		return out
	}
	for _, lang := range []string{"en", "fr", "zh"} {
		var fams [][][]uint32
		for k := 0; k < 26; k++ {
			fams = append(fams, sets(Narrative(k), lang, 6))
		}
		worst, within := 0.0, 0.0
		for a := range fams {
			// copies of one story: their best match is a near-copy
			for i := range fams[a] {
				best := 0.0
				for j := range fams[a] {
					if i != j {
						best = math.Max(best, text.Jaccard(fams[a][i], fams[a][j]))
					}
				}
				within += best
			}
			for b := a + 1; b < len(fams); b++ {
				for _, x := range fams[a] {
					for _, y := range fams[b] {
						worst = math.Max(worst, text.Jaccard(x, y))
					}
				}
			}
		}
		within /= float64(len(fams) * 6)
		// 0.6 is the shipped repeated-narrative jaccard_min: no copy of one
		// story may link to another's (seen: en 0.45, fr 0.49, zh 0.53)
		if worst >= 0.6 {
			t.Errorf("%s: two stories' copies reach Jaccard %.2f", lang, worst)
		}
		t.Logf("%s: worst Jaccard across stories %.2f, nearest sibling within a story %.2f", lang, worst, within)
		if within < 0.6 {
			t.Errorf("%s: a copy's nearest sibling averages Jaccard %.2f, below the 0.6 a narrative needs", lang, within)
		}
	}
}
