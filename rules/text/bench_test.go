package text

import (
	"testing"
	"time"

	"github.com/longbridgeapp/opencc"
)

// benchMix is a reply mix like the watched traffic: mostly English, some
// French, some Chinese (Simplified and Traditional), some Mastodon HTML.
func benchMix(b *testing.B) []string {
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

func BenchmarkShingleMinHash(b *testing.B) {
	mix := benchMix(b)
	folded := make([]string, len(mix))
	for i, s := range mix {
		folded[i] = Normalize(s).Folded
	}
	l := NewLSH(20, 5) // the repeated_narrative default
	m := NewMinHasher(l.SigLen(), 1)
	var (
		set  []uint32
		sig  []uint32
		keys []uint32
	)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set = AppendShingles(set, folded[i%len(folded)])
		sig = m.Signature(set, sig)
		keys = l.BandKeys(sig, keys)
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
	rng := uint64(1)
	next := func() uint64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
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
