package web

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

var update = flag.Bool("update", false, "rewrite the golden pages in testdata/")

// TestGoldenPages pins the full HTML of each page for the fixture, so any
// change to markup, escaping or chart geometry shows up in review as a diff
// of testdata/*.golden.html. Refresh with: go test ./web -run Golden -update
func TestGoldenPages(t *testing.T) {
	s := newTestServer(fixture(), nil)
	for _, p := range []struct{ file, path string }{
		{"status.golden.html", "/"},
		{"evidence.golden.html", alertPath(spikeKey)},
		{"target.golden.html", "/targets/jane"},
		{"evidence.golden.csv", alertPath(spikeKey + ".csv")},
	} {
		t.Run(p.file, func(t *testing.T) {
			rec := get(t, s.Handler(), p.path)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			got := rec.Body.String()
			file := filepath.Join("testdata", p.file)
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) && i < len(wl); i++ {
					if gl[i] != wl[i] {
						t.Fatalf("%s differs at line %d:\n got: %.300s\nwant: %.300s\n(run with -update if the change is intended)", file, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s differs in length: %d lines, want %d", file, len(gl), len(wl))
			}
		})
	}
}

// bigFixture is a watchlist of n targets with four sources each, a week of
// hourly volume on two platforms and 50 alerts: a large deployment's status
// page.
func bigFixture(n int) *fakeData {
	f := &fakeData{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("mp-%03d", i)
		t := model.Target{ID: id, Name: "Member " + id, Accounts: []model.Account{
			{Platform: model.Mastodon, Handle: "@" + id + "@example.social"},
			{Platform: model.Bluesky, Handle: id + ".bsky.social"},
			{Platform: model.RSS, URL: "https://news.example.org/" + id + ".xml"},
			{Platform: model.HTML, URL: "https://example.org/" + id},
		}}
		f.targets = append(f.targets, t)
		for _, a := range t.Accounts {
			f.health = append(f.health, model.SourceHealth{SourceKey: model.SourceKey(id, a), Target: id, Platform: a.Platform,
				LastAttempt: fixedNow.Add(-time.Minute), LastSuccess: fixedNow.Add(-time.Minute)})
		}
		start := fixedNow.Truncate(time.Hour).Add(-7 * 24 * time.Hour)
		for h := time.Duration(0); h < 7*24; h++ {
			f.hourly = append(f.hourly,
				VolumePoint{Target: id, Platform: model.Mastodon, Start: start.Add(h * time.Hour), Count: int(h % 17)},
				VolumePoint{Target: id, Platform: model.Bluesky, Start: start.Add(h * time.Hour), Count: int(h % 5)})
		}
	}
	for i := 0; i < 50; i++ {
		f.events = append(f.events, model.Alert{Key: fmt.Sprintf("spike/%d", i), Seq: 1, Rule: "spike", Type: "spike",
			Severity: model.SeverityHigh, Status: model.StatusFiring, Targets: []string{f.targets[i%n].ID},
			FiredAt: fixedNow.Add(-time.Duration(i) * time.Minute), Summary: "Reply spike"})
	}
	return f
}

// BenchmarkStatusPage renders the status page for 100 targets (400 sources,
// 100 charts of 168 bars). Figures are in the report; the page must stay
// well under a second to be usable as a dashboard.
func BenchmarkStatusPage(b *testing.B) {
	s := newTestServer(bigFixture(100), nil)
	h := s.Handler()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		rec := get(&testing.T{}, h, "/")
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size)/1024, "KiB/page")
}

func BenchmarkEvidencePage(b *testing.B) {
	s := newTestServer(fixture(), nil)
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		if rec := get(&testing.T{}, h, alertPath(spikeKey)); rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
