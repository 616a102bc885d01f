package text

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/longbridgeapp/opencc"
)

// benchMix is a reply mix like the watched traffic: mostly English, some
// French, some Chinese (Simplified and Traditional), some Mastodon HTML.
func benchMix(b testing.TB) []string {
	b.Helper()
	en := readTexts(b, "../testdata/narrative/pheme_ottawa.jsonl")
	zh := readTexts(b, "../testdata/narrative/weibo_ced.jsonl")
	var mix []string
	for i := range 200 {
		mix = append(mix, en[i%len(en)])
		if i%4 == 0 {
			mix = append(mix, zh[i%len(zh)])
		}
		if i%5 == 0 {
			mix = append(mix, narrativeFR, hostileFR[2].text)
		}
		if i%10 == 0 {
			mix = append(mix, hostileZH[0].text, `<p><span class="h-card"><a href="https://x.social/@mp" class="u-url mention">@<span>mp</span></a></span> Shame on you &amp; your party <a href="https://x.social/tags/cdnpoli" class="mention hashtag">#<span>cdnpoli</span></a></p>`)
		}
	}
	return mix
}

func BenchmarkNormalize(b *testing.B) {
	mix := benchMix(b)
	T2SError() // load the dictionaries outside the timing
	bytes := 0
	for _, s := range mix {
		bytes += len(s)
	}
	b.SetBytes(int64(bytes / len(mix)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Normalize(mix[i%len(mix)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "replies/s")
}

func BenchmarkNormalizeEN(b *testing.B) {
	en := readTexts(b, "../testdata/narrative/pheme_ottawa.jsonl")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Normalize(en[i%len(en)])
	}
}

func BenchmarkNormalizeZH(b *testing.B) {
	zh := readTexts(b, "../testdata/narrative/weibo_ced.jsonl")
	T2SError()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Normalize(zh[i%len(zh)])
	}
}

// BenchmarkOpenCCConvert is what calling OpenCC per reply would cost, the
// reason Normalize folds through a per-character table instead.
func BenchmarkOpenCCConvert(b *testing.B) {
	cc, err := opencc.New("t2s")
	if err != nil {
		b.Fatal(err)
	}
	zh := readTexts(b, "../testdata/narrative/weibo_ced.jsonl")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := cc.Convert(zh[i%len(zh)]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestT2SLoadCost(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the OpenCC dictionaries")
	}
	start := time.Now()
	cc, err := opencc.New("t2s")
	if err != nil {
		t.Fatal(err)
	}
	_ = cc
	t.Logf("opencc.New(t2s): %v (the table build in loadT2S adds one Convert over all CJK characters)", time.Since(start))
}

// BenchmarkShingleMinHash: sorted shingle set, signature and band keys of
// real replies. The banding is 20×5, kept so figures compare across
// versions; BenchmarkTextPrep has repeated_narrative's own path and banding.
func BenchmarkShingleMinHash(b *testing.B) {
	mix := benchMix(b)
	folded := make([]string, len(mix))
	for i, s := range mix {
		folded[i] = Normalize(s).Folded
	}
	l := NewLSH(20, 5)
	m := NewMinHasher(l.SigLen(), 1)
	var (
		set  []uint32
		sig  []uint32
		keys []uint32
	)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, ok := threadCPU()
	for i := 0; i < b.N; i++ {
		set = AppendShingles(set, folded[i%len(folded)])
		sig = m.Signature(set, sig)
		keys = l.BandKeys(sig, keys)
	}
	if cpu1, ok1 := threadCPU(); ok && ok1 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "replies/s")
}

// BenchmarkLSHCandidates queries a window-sized index (200,000 items of 30
// bands) whose band keys are skewed like shingle MinHash bands: a few values
// are shared by many items (crowded buckets), most by none. The index is far
// larger than the caches, so this measures the walk's memory misses.
func BenchmarkLSHCandidates(b *testing.B) {
	const items, bands = 200_000, 30
	l := NewLSH(bands, 4)
	l.SetMaxChain(32)
	next := xorshift(1)
	keysOf := func(dst []uint32) []uint32 {
		dst = dst[:0]
		for band := range bands {
			v := next()
			if v%4 == 0 { // a common value: one of 2,000 per band
				v = v >> 8 % 2000
			}
			h := mix64(uint64(band+1)*0xD6E8FEB86659FD93 ^ v)
			dst = append(dst, uint32(h^h>>32))
		}
		return dst
	}
	var keys []uint32
	for id := range int32(items) {
		keys = keysOf(keys)
		l.Add(id, keys)
	}
	queries := make([][]uint32, 1024)
	for i := range queries {
		queries[i] = keysOf(nil)
	}
	var cand []int32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cand = l.Candidates(queries[i%len(queries)], cand)
	}
	b.ReportMetric(float64(len(cand)), "candidates")
}

// syntheticMix is a reply mix shaped like the rules package's generated
// traffic (BenchmarkRules1M): nine in ten replies of 6 to 40 invented
// words in Latin letters with a few accents, one in ten of 10 to 80 Han
// characters. It complements benchMix's real texts with the lengths and
// the share of Chinese that the rule benchmarks see.
func syntheticMix(n int) []string {
	rng := rand.New(rand.NewPCG(7, 9))
	syll := []string{"ka", "lo", "mi", "ne", "po", "ru", "sa", "te", "vi", "za", "ber", "con", "dis", "gra", "pol", "ment", "tion", "ing", "é", "ou"}
	vocab := make([]string, 3000)
	for i := range vocab {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		vocab[i] = b.String()
	}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		if rng.IntN(10) == 0 {
			for range 10 + rng.IntN(70) {
				b.WriteRune(rune(0x4E00 + rng.IntN(3000)))
			}
		} else {
			for j := range 6 + rng.IntN(35) {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(vocab[rng.IntN(len(vocab))])
			}
		}
		out[i] = Normalize(b.String()).Folded
	}
	return out
}

// BenchmarkTextPrep is the per-text work of repeated_narrative's flush for
// a new text, in its order and with its shipped banding (30×4): shingle
// hashes, their 16-bit set, the MinHash signature from the hashes, the
// band keys. Each stage also runs alone so a profile is not needed to see
// where the time goes. cpu-ns/op is the thread's CPU time per text, the
// figure to compare on a busy machine.
func BenchmarkTextPrep(b *testing.B) {
	mixes := []struct {
		name  string
		texts []string
	}{
		{"real", nil},
		{"synthetic", syntheticMix(512)},
	}
	for _, s := range benchMix(b) {
		mixes[0].texts = append(mixes[0].texts, Normalize(s).Folded)
	}
	l := NewLSH(30, 4)
	m := NewMinHasher(l.SigLen(), 0x6d7077617463682d)
	for _, mix := range mixes {
		var (
			set   []uint32
			set16 []uint16
			marks Marks
			sig   []uint32
			keys  []uint32
		)
		shingles := 0
		for _, s := range mix.texts {
			shingles += len(AppendShingleHashes(nil, s))
		}
		perText := float64(shingles) / float64(len(mix.texts))
		run := func(name string, f func(i int)) {
			b.Run(mix.name+"/"+name, func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ReportAllocs()
				cpu0, ok := threadCPU()
				i := 0
				for b.Loop() {
					f(i)
					if i++; i == len(mix.texts) {
						i = 0
					}
				}
				if cpu1, ok1 := threadCPU(); ok && ok1 {
					b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
				}
				b.ReportMetric(perText, "shingles/text")
			})
		}
		run("all", func(i int) {
			set = AppendShingleHashes(set, mix.texts[i])
			set16 = marks.Distinct16(set, set16)
			sig = m.Signature(set, sig)
			keys = l.BandKeys(sig, keys)
		})
		run("shingles", func(i int) { set = AppendShingleHashes(set, mix.texts[i]) })
		hashes := make([][]uint32, len(mix.texts))
		for i, s := range mix.texts {
			hashes[i] = AppendShingleHashes(nil, s)
		}
		run("distinct16", func(i int) { set16 = marks.Distinct16(hashes[i], set16) })
		run("signature", func(i int) { sig = m.Signature(hashes[i], sig) })
	}
}

// BenchmarkLSHGrow doubles the table of an index of 130,000 items of 30
// bands (3.9M entries in 2M slots, a third of them in crowded buckets),
// from the same state each time.
func BenchmarkLSHGrow(b *testing.B) {
	const bands = 30
	next := xorshift(5)
	l := NewLSH(bands, 4)
	ks := make([]uint32, bands)
	for id := range int32(130_000) {
		for i := range ks {
			v := next()
			if v%3 == 0 {
				v = v >> 8 % 3000
			}
			ks[i] = uint32(mix64(uint64(i+1)<<32 ^ v))
		}
		l.Add(id, ks)
	}
	heads, ents := slices.Clone(l.heads), slices.Clone(l.ents)
	for b.Loop() {
		b.StopTimer()
		l.heads = append(l.heads[:0:0], heads...)
		copy(l.ents, ents)
		b.StartTimer()
		l.grow()
	}
}
