package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// replyGen makes deterministic, realistic replies: ~150-character texts from
// a political vocabulary, Mastodon-sized snowflake ids, a fixed pool of
// authors and targets, and created times as a crawler sees them: advancing
// with ingest (1M replies over 30 days), each up to an hour old when stored.
type replyGen struct {
	rng      *rand.Rand
	authors  []model.Author
	targets  []string
	next     int64
	base     time.Time
	clock    time.Time
	platform []model.Platform
}

var benchWords = strings.Fields(`the minister budget housing carbon tax riding vote election debate
	parliament healthcare wait times jobs inflation grocery prices pipeline climate policy
	seniors pension veterans immigration border police rural farmers fishery transit bridge
	shame resign liar thank you great work finally someone said it why did you vote against
	where is the money our community deserves better answer the question how much does it cost
	taxpayers families students rent mortgage interest rates ottawa committee report scandal`)

func newReplyGen(seed uint64, authors, targets int) *replyGen {
	g := &replyGen{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		base:     time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
		next:     113_000_000_000_000_000,
		platform: []model.Platform{model.Mastodon, model.Bluesky},
	}
	g.clock = g.base
	for i := range authors {
		created := g.base.Add(-time.Duration(g.rng.IntN(3000*24)) * time.Hour)
		a := model.Author{
			ID:        strconv.Itoa(100000 + i),
			Handle:    fmt.Sprintf("user%d@instance%d.social", i, i%300),
			Name:      fmt.Sprintf("Citizen %d", i),
			URL:       fmt.Sprintf("https://instance%d.social/@user%d", i%300, i),
			Followers: g.rng.IntN(5000), Following: g.rng.IntN(2000), Posts: g.rng.IntN(20000),
			Bot: i%97 == 0, DefaultAvatar: i%7 == 0,
		}
		if i%5 != 0 {
			a.CreatedAt = &created
		}
		g.authors = append(g.authors, a)
	}
	for i := range targets {
		g.targets = append(g.targets, fmt.Sprintf("mp-%04d", i))
	}
	return g
}

func (g *replyGen) text() string {
	var b strings.Builder
	for b.Len() < 130+g.rng.IntN(40) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(benchWords[g.rng.IntN(len(benchWords))])
	}
	return b.String()
}

func (g *replyGen) batch(n int) []model.Reply {
	out := make([]model.Reply, n)
	for i := range out {
		g.next += 1 + int64(g.rng.IntN(1000))
		g.clock = g.clock.Add(2600 * time.Millisecond) // 1M replies in 30 days
		id := strconv.FormatInt(g.next, 10)
		t := g.targets[g.rng.IntN(len(g.targets))]
		a := g.authors[g.rng.IntN(len(g.authors))]
		p := g.platform[g.rng.IntN(len(g.platform))]
		out[i] = model.Reply{
			Platform:  p,
			ID:        id,
			URL:       "https://instance.social/@" + a.Handle + "/" + id,
			Kind:      model.KindReply,
			Target:    t,
			Account:   string(p) + ":@" + t + "@parl.social",
			PostID:    strconv.FormatInt(112_000_000_000_000_000+int64(g.rng.IntN(50_000)), 10),
			ParentID:  id[:len(id)-3] + "000",
			CreatedAt: g.clock.Add(-time.Duration(g.rng.Int64N(int64(time.Hour)))),
			Text:      g.text(),
			Lang:      "en",
			Author:    a,
		}
	}
	return out
}

// BenchmarkSaveReplies stores n replies (50k authors, 1,000 targets) into a
// fresh file database, 20,000 per SaveReplies call, and reports the ingest
// rate and the bytes on disk per reply after a checkpoint.
func BenchmarkSaveReplies(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("1M replies in -short mode")
			}
			ctx := context.Background()
			var elapsed time.Duration
			var bytesPer float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				path := dir + "/bench.db"
				db, err := Open(ctx, path)
				if err != nil {
					b.Fatal(err)
				}
				g := newReplyGen(uint64(i+1), 50_000, 1_000)
				const per = 20000
				for done := 0; done < n; done += per {
					batch := g.batch(min(per, n-done))
					b.StartTimer()
					start := time.Now()
					added, err := db.SaveReplies(ctx, batch)
					elapsed += time.Since(start)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if added != len(batch) {
						b.Fatalf("added %d of %d", added, len(batch))
					}
				}
				if _, err := db.SQL().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
					b.Fatal(err)
				}
				size := fileSize(path) + fileSize(path+"-wal")
				bytesPer = float64(size) / float64(n)
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "replies/s")
			b.ReportMetric(bytesPer, "B/reply")
		})
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// BenchmarkReads measures the detectors' reads on a database of n replies
// (about 2.7 days of the 1M-in-30-days stream): a full ScanReplies of the
// range, the same replies in ingest order, and hourly CountReplies buckets.
func BenchmarkReads(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir()+"/reads.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g := newReplyGen(1, 50_000, 1_000)
	for done := 0; done < n; done += 20_000 {
		if _, err := db.SaveReplies(ctx, g.batch(20_000)); err != nil {
			b.Fatal(err)
		}
	}
	from, to := g.base.Add(-time.Hour), g.clock
	b.Run("ScanReplies", func(b *testing.B) {
		read := 0
		for i := 0; i < b.N; i++ {
			if err := db.ScanReplies(ctx, from, to, func(model.Reply) error { read++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if read != n*b.N {
			b.Fatalf("read %d, want %d", read, n*b.N)
		}
		b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "replies/s")
	})
	b.Run("ScanRepliesAfter", func(b *testing.B) { // the rules engine's read
		read := 0
		for i := 0; i < b.N; i++ {
			if _, err := db.ScanRepliesAfter(ctx, 0, 0, func(int64, model.Reply) error { read++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if read != n*b.N {
			b.Fatalf("read %d, want %d", read, n*b.N)
		}
		b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "replies/s")
	})
	b.Run("CountReplies-1h", func(b *testing.B) {
		counted := 0
		for i := 0; i < b.N; i++ {
			bs, err := db.CountReplies(ctx, from, to, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			for _, bk := range bs {
				counted += bk.Count
			}
		}
		if counted != n*b.N {
			b.Fatalf("counted %d, want %d", counted, n*b.N)
		}
		b.ReportMetric(float64(counted)/b.Elapsed().Seconds(), "replies/s")
	})
}
