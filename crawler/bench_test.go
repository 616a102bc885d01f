package crawler_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/mastodon"
	"github.com/mpwatch/mpwatch/internal/fakeplatform"
	"github.com/mpwatch/mpwatch/model"
)

// countStore keeps only health and counts replies, so the benchmark measures
// the crawler, not a map of 400,000 replies.
type countStore struct {
	mu      sync.Mutex
	health  map[string]model.SourceHealth
	replies atomic.Int64
}

func (s *countStore) SourceHealth(_ context.Context, key string) (model.SourceHealth, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.health[key]
	return h, ok, nil
}

func (s *countStore) SaveCrawl(_ context.Context, h model.SourceHealth, _ []model.Post, rs []model.Reply) (int, error) {
	s.mu.Lock()
	s.health[h.SourceKey] = h
	s.mu.Unlock()
	s.replies.Add(int64(len(rs)))
	return len(rs), nil
}

// fakeScale is the benchmark's data: watched accounts × posts × replies.
func fakeScale() (accounts, posts, replies int) {
	if testing.Short() {
		return 20, 20, 100
	}
	return 200, 20, 100
}

var benchBase = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// TestFakeMastodonHelper is not a test: BenchmarkCrawl runs it in a child
// process so the fake server's own memory (every status it holds) is not
// counted as the crawler's.
func TestFakeMastodonHelper(t *testing.T) {
	if os.Getenv("MPWATCH_BENCH_FAKE") == "" {
		t.Skip("helper process for BenchmarkCrawl")
	}
	accounts, posts, replies := fakeScale()
	m := fakeplatform.NewMastodon(fakeplatform.MastodonOptions{Now: func() time.Time { return benchBase }})
	defer m.Close()
	const repliers = 1000
	for i := range repliers {
		m.AddAccount(fakeplatform.MastodonAccount{Username: fmt.Sprintf("r%d", i), Followers: i % 50, DefaultAvatar: i%3 == 0})
	}
	n := 0
	for a := range accounts {
		user := fmt.Sprintf("mp%d", a)
		m.AddAccount(fakeplatform.MastodonAccount{Username: user})
		for p := range posts {
			pid := m.AddStatus(user, benchBase.Add(-time.Duration(p+1)*time.Hour), fmt.Sprintf("<p>Statement %d on the budget</p>", p))
			for r := range replies {
				m.AddReply(pid, fmt.Sprintf("r%d", n%repliers), benchBase.Add(-time.Duration(p+1)*time.Hour+time.Duration(r+1)*time.Second),
					fmt.Sprintf(`<p><span class="h-card"><a href="#" class="u-url mention">@<span>%s</span></a></span> reply %d: the minister should resign &amp; apologise</p>`, user, n))
				n++
			}
		}
	}
	fmt.Printf("FAKE %s %s %d\n", m.URL(), m.Host(), n)
	_, _ = io.Copy(io.Discard, os.Stdin) // serve until the benchmark closes stdin
}

// startFake runs the helper and returns the fake's URL, host and reply count.
func startFake(b *testing.B) (url, host string, n int, stop func()) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeMastodonHelper$", "-test.short="+strconv.FormatBool(testing.Short()))
	cmd.Env = append(os.Environ(), "MPWATCH_BENCH_FAKE=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "FAKE %s %s %d", &url, &host, &n); err == nil {
			break
		}
	}
	if url == "" {
		_ = cmd.Process.Kill()
		b.Fatal("fake server helper did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return url, host, n, func() { _ = in.Close(); _ = cmd.Wait() }
}

// BenchmarkCrawl crawls a local fake Mastodon server (in a child process)
// holding 200 watched accounts × 20 posts × 100 replies (20 accounts with
// -short) with politeness delays off, and reports replies/s and the
// crawler process's peak memory. Run it with
// `go test ./crawler -run '^$' -bench Crawl -benchtime 1x`.
func BenchmarkCrawl(b *testing.B) {
	url, host, n, stop := startFake(b)
	defer stop()
	accounts, _, _ := fakeScale()
	var targets []model.Target
	for a := range accounts {
		user := fmt.Sprintf("mp%d", a)
		targets = append(targets, model.Target{ID: fmt.Sprintf("t%d", a), Name: user,
			Accounts: []model.Account{{Platform: model.Mastodon, Handle: "@" + user + "@" + host, URL: url}}})
	}
	base := benchBase
	runtime.GC()
	b.ResetTimer()
	var total int64
	var peakHeap, peakSys uint64
	var elapsed time.Duration
	for range b.N {
		client, err := crawler.NewClient(crawler.Options{NoDelay: true, Parallelism: 8, Timeout: 30 * time.Second,
			MaxBodyBytes: 16 << 20, Now: func() time.Time { return base }})
		if err != nil {
			b.Fatal(err)
		}
		st := &countStore{health: map[string]model.SourceHealth{}}
		r := crawler.NewRunner(st, map[model.Platform]crawler.Source{model.Mastodon: mastodon.New(client, mastodon.Options{})},
			crawler.RunnerOptions{Now: func() time.Time { return base }, Concurrency: 8})
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s runtime.MemStats
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&s)
				peakHeap = max(peakHeap, s.HeapInuse)
				peakSys = max(peakSys, s.Sys)
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		start := time.Now()
		sum := r.CrawlAll(context.Background(), targets, true)
		elapsed += time.Since(start)
		close(done)
		wg.Wait()
		if sum.Failed != 0 {
			b.Fatalf("%d sources failed: %+v", sum.Failed, sum.Outcomes[0])
		}
		if got := st.replies.Load(); got != int64(n) {
			b.Fatalf("crawled %d replies, want %d", got, n)
		}
		total += st.replies.Load()
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "replies/s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak_heap_MB")
	b.ReportMetric(float64(peakSys)/(1<<20), "peak_sys_MB")
}
