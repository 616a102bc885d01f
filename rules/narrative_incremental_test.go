package rules

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/rules/text"
)

// TestNarrativeIncrementalMatchesFull runs the generated stream (campaigns
// on 40 MPs every 36h over ten days, with one reply in seven arriving up to
// three hours late) through two detectors: one evaluates as it does in
// production, looking only at groups where something changed; the other
// is made to work out every group at every evaluation, as the detector did
// before. Findings and saved state must be the same at every step, and a
// detector restored from saved state in the middle must go on the same.
func TestNarrativeIncrementalMatchesFull(t *testing.T) {
	total := 40_000
	if testing.Short() {
		total = 20_000
	}
	for _, groupBy := range []string{"target", "all"} {
		t.Run(groupBy, func(t *testing.T) {
			mod := func(s *NarrativeSpec) {
				s.GroupBy = groupBy
				s.Window = 12 * 3600e9 // many expiries in ten days
				if groupBy == "all" {
					s.MinShare = 0.005
				}
			}
			inc, full := ntLex(t, mod), ntLex(t, mod)
			var restored *lexDetector
			g := newBenchGen(total)
			rng := rand.New(rand.NewPCG(3, 5))
			fired, steps := 0, 0
			for {
				batch, now, ok := g.step(5 * time.Minute)
				if !ok {
					break
				}
				for _, r := range batch {
					if rng.IntN(7) == 0 {
						r.CreatedAt = r.CreatedAt.Add(-time.Duration(rng.IntN(3*3600)) * time.Second)
					}
					it := &Item{Reply: r, Norm: text.Normalize(r.Text)}
					inc.Observe(it)
					full.Observe(it)
					if restored != nil {
						restored.Observe(it)
					}
				}
				for i := range full.hot {
					full.hot[i].dirty = true
				}
				got, want := inc.Evaluate(now), full.Evaluate(now)
				steps++
				if len(want) > 0 {
					fired++
				}
				if gj, wj := ntJSON(t, got), ntJSON(t, want); gj != wj {
					t.Fatalf("step %d (%s): incremental findings\n%s\nwant\n%s", steps, now, gj, wj)
				}
				if restored != nil {
					if rj, wj := ntJSON(t, restored.Evaluate(now)), ntJSON(t, want); rj != wj {
						t.Fatalf("step %d (%s): restored detector's findings\n%s\nwant\n%s", steps, now, rj, wj)
					}
				}
				if steps%97 == 0 {
					si, _ := inc.MarshalState()
					sf, _ := full.MarshalState()
					if string(si) != string(sf) {
						t.Fatalf("step %d: states differ", steps)
					}
					if restored == nil && fired > 0 {
						restored = ntLex(t, mod)
						if err := restored.UnmarshalState(si); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if fired < 50 || restored == nil {
				t.Errorf("findings at %d of %d evaluations: the stream does not exercise the rule", fired, steps)
			}
		})
	}
}

func ntJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLexBucketOf(t *testing.T) {
	base := time.Date(2026, 9, 7, 13, 4, 59, 999, time.UTC)
	times := []time.Time{
		base, base.Truncate(lexBucket), time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-300, 0), time.Unix(-301, 5),
		time.Date(1950, 1, 1, 0, 2, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		times = append(times, base.Add(time.Duration(rng.Int64N(int64(100*365*24*time.Hour)))-50*365*24*time.Hour))
	}
	for _, tm := range times {
		if got, want := int64(lexBucketOf(tm))*lexBucketSec, tm.Truncate(lexBucket).Unix(); got != want {
			t.Errorf("bucket of %s starts at %d, want %d", tm, got, want)
		}
	}
}

// TestLexBucketsSlide checks the bucket deque: late replies inserted in
// order, expiry from the front, and memory kept near the live buckets.
func TestLexBucketsSlide(t *testing.T) {
	g := &lexGroup{}
	var ref []lexCount // the plain sorted list the deque must equal
	add := func(idx int32) {
		g.count(idx)
		i, found := slices.BinarySearchFunc(ref, idx, func(c lexCount, idx int32) int { return int(c.idx - idx) })
		if found {
			ref[i].n++
		} else {
			ref = slices.Insert(ref, i, lexCount{idx, 1})
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for step := int32(0); step < 5000; step++ {
		add(step)
		if rng.IntN(3) == 0 {
			add(step - int32(rng.IntN(20)))
		}
		cutoff := int64(step-300) * int64(lexBucket)
		g.expire(cutoff)
		for len(ref) > 0 && int64(ref[0].idx)*int64(lexBucket)+int64(lexBucket) <= cutoff {
			ref = ref[1:]
		}
		live := g.buckets[g.head:]
		if !slices.Equal(live, ref) {
			t.Fatalf("step %d: buckets %v, want %v", step, live, ref)
		}
		sum := 0
		for _, c := range ref {
			sum += int(c.n)
		}
		if g.Total != sum {
			t.Fatalf("step %d: total %d, want %d", step, g.Total, sum)
		}
		if cap(g.buckets) > 3*len(live)/2+8 && step > 600 {
			t.Fatalf("step %d: %d buckets held for %d live", step, cap(g.buckets), len(live))
		}
	}
	// A target gone quiet gives its memory back.
	for step := int32(5000); step < 5400; step++ {
		g.expire(int64(step-300) * int64(lexBucket))
		if step%10 == 0 {
			g.count(step)
		}
	}
	if live := len(g.buckets) - g.head; cap(g.buckets) > 4*live+8 {
		t.Errorf("%d buckets held for %d live", cap(g.buckets), live)
	}
}

func TestLexPercentPrintsLikeFmt(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	shares := []float64{0, 1, 0.05, 0.0005, 0.00049999, 0.12345, 0.99999, 1.0 / 3, 2.0 / 3}
	for range 10000 {
		n := 1 + rng.IntN(5000)
		shares = append(shares, float64(rng.IntN(n+1))/float64(n))
	}
	for _, s := range shares {
		if got, want := lexPercent(s), fmt.Sprintf("%.1f", 100*s); got != want {
			t.Errorf("share %v: %q, want %q", s, got, want)
		}
	}
}
