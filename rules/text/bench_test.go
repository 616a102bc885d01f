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
