package text

import (
	"bufio"
	"encoding/json"
	"math"
	"math/bits"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, text, folded string
	}{
		{"ascii lowercase and spaces", "  Hello   WORLD \n\t again ", "hello world again", ""},
		{"repeated punctuation", "Shame!!!! Why??? ... ok", "shame! why? . ok", ""},
		{"url stripped", "see https://Example.com/x?y=1 and www.foo.org now", "see and now", ""},
		{"url glued to colon", "Check out this video on YouTube:http://youtu.be/x", "check out this video on youtube:", ""},
		{"mentions", "@alice @bob@mastodon.social hi there @carol_99", "hi there", ""},
		{"email kept", "write to a@b.ca", "write to a@b.ca", ""},
		{"hashtag mark", "#Cdnpoli is #1 #", "cdnpoli is 1 #", ""},
		{"html mastodon", `<p><span class="h-card"><a href="https://x.social/@bob" class="u-url mention">@<span>bob</span></a></span> Hello &amp; bye<br>next</p><p>para</p>`, "hello & bye next para", ""},
		{"html entities only", "Tom &amp; Jerry &quot;x&quot; &#39;y&#39;", `tom & jerry "x" 'y'`, ""},
		{"escaped markup stays text", "&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>", ""},
		{"zero width", "cor\u200brupt\u200c mi\u200dnis\u2060ter\ufeff \u00adx", "corrupt minister x", ""},
		{"tag characters and variation selectors", "flag\U000E0067\U000E0062 ok\uFE0F\U000E0100", "flag ok", ""},
		{"bidi controls", "\u202eabc\u202c \u2066def\u2069", "abc def", ""},
		{"emoji zwj and skin tone", "well done 👍🏽 👨‍👩‍👧 family 🇨🇦 1️⃣", "well done family 1", ""},
		{"emoji inside word", "scan🔥dal", "scandal", ""},
		{"cyrillic homoglyphs", "Тhе МР wаs ассusеd", "the mp was accused", ""},
		{"greek homoglyphs", "Τhe ΜΡ ιs cοrrupt", "the mp is corrupt", ""},
		{"full width", "ＴＨＥ　ＭＰ！！", "the mp!", ""},
		{"math alphanumerics", "𝐓𝐡𝐞 𝓜𝓟", "the mp", ""},
		{"case folding sharp s", "STRASSE Straße", "strasse strasse", ""},
		{"french accents", "Le Député ÉTAIT accusé", "le député était accusé", "le depute etait accuse"},
		{"decomposed accents compose", "acce\u0300s", "accès", "acces"},
		{"zalgo marks folded away", "sca\u0301\u0301\u0301ndal", "", "scandal"},
		{"traditional to simplified", "這個議員被指控犯罪，醜聞曝光了", "这个议员被指控犯罪,丑闻曝光了", ""},
		{"simplified unchanged", "这个议员被指控犯罪，丑闻曝光了", "这个议员被指控犯罪,丑闻曝光了", ""},
		{"weibo emoticon codes", "[微风]傲不可长[可爱][可爱] [x] [] [很长很长很长的] ok", "傲不可长 [x] [] [很长很长很长的] ok", ""},
		{"control chars", "a\x00b\x07c", "abc", ""},
		{"empty", "", "", ""},
		{"only noise", "🔥🔥 \u200b https://x.y @bob", "", ""},
		{"unclosed tag", "a < b and c <d", "a < b and c <d", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Normalize(tt.in)
			if tt.text != "" || tt.in == "" || tt.name == "only noise" {
				if n.Text != tt.text {
					t.Errorf("Text = %q, want %q", n.Text, tt.text)
				}
			}
			want := tt.folded
			if want == "" {
				want = tt.text
			}
			if n.Folded != want {
				t.Errorf("Folded = %q, want %q", n.Folded, want)
			}
		})
	}
}

func TestNormalizeCounts(t *testing.T) {
	n := Normalize("MP 丑闻 scandal")
	if n.Han != 2 || n.Latin != 9 {
		t.Errorf("Han=%d Latin=%d, want 2 and 9", n.Han, n.Latin)
	}
}

// The hostile variants of one narrative that spam networks post: each must
// normalise to text whose shingle set is close to the original's.
var narrativeEN = "The MP was accused of serious crimes by a brave critic. Canadians deserve the truth about this scandal."

var hostileEN = []struct{ name, text string }{
	{"homoglyphs", "Тhе МP wаs ассusеd оf sеrious сrimеs by а brаvе critiс. Cаnаdiаns dеsеrvе thе truth аbout this sсаndаl."},
	{"zero width", "The\u200b MP was ac\u200ccused of se\u2060rious crimes by a brave critic.\ufeff Canadians deserve the tr\u200duth about this scandal."},
	{"emoji noise", "🔥 The MP was accused of serious crimes 😡 by a brave critic. Canadians deserve the truth about this scandal. 🇨🇦🇨🇦"},
	{"reordered sentences", "Canadians deserve the truth about this scandal. The MP was accused of serious crimes by a brave critic."},
	{"case and spacing", "THE MP WAS ACCUSED   of serious crimes by a BRAVE critic!!! Canadians deserve the truth about this scandal!!!"},
	{"url and mention", "@mp_office The MP was accused of serious crimes by a brave critic. Canadians deserve the truth about this scandal. https://t.co/abc"},
	{"full width", "Ｔｈｅ ＭＰ was accused of serious crimes by a brave critic. Canadians deserve the truth about this scandal."},
	{"one word swapped", "The MP was accused of serious crimes by a courageous critic. Canadians deserve the truth about this scandal."},
}

var narrativeFR = "Le député a été accusé de crimes graves par un critique courageux. Les Canadiens méritent la vérité sur ce scandale."

var hostileFR = []struct{ name, text string }{
	{"accents stripped", "Le depute a ete accuse de crimes graves par un critique courageux. Les Canadiens meritent la verite sur ce scandale."},
	{"decomposed accents", "Le de\u0301pute\u0301 a e\u0301te\u0301 accuse\u0301 de crimes graves par un critique courageux. Les Canadiens me\u0301ritent la ve\u0301rite\u0301 sur ce scandale."},
	{"homoglyphs and emoji", "Lе député а été ассusé dе сrimеs grаvеs pаr un critique courageux 😡. Les Canadiens méritent la vérité sur ce scandale ‼️"},
}

var narrativeZH = "这位议员被一位勇敢的批评者指控犯有严重罪行，加拿大人应该知道这个丑闻的真相。"

var hostileZH = []struct{ name, text string }{
	{"traditional", "這位議員被一位勇敢的批評者指控犯有嚴重罪行，加拿大人應該知道這個醜聞的真相。"},
	{"zero width and emoji", "这位议员\u200b被一位勇敢的批评者🔥指控犯有严重罪行，加拿大人\u200d应该知道这个丑闻的真相。😡"},
	{"full width punctuation and spaces", "这位议员 被一位勇敢的批评者 指控犯有严重罪行!!! 加拿大人应该知道这个丑闻的真相!!!"},
	{"reordered", "加拿大人应该知道这个丑闻的真相。这位议员被一位勇敢的批评者指控犯有严重罪行。"},
}

func shingleOf(s string) []uint32 { return Shingles(Normalize(s).Folded) }

func TestHostileVariantsStaySimilar(t *testing.T) {
	const min = 0.6
	groups := []struct {
		base     string
		variants []struct{ name, text string }
	}{{narrativeEN, hostileEN}, {narrativeFR, hostileFR}, {narrativeZH, hostileZH}}
	for _, g := range groups {
		base := shingleOf(g.base)
		for _, v := range g.variants {
			j := Jaccard(base, shingleOf(v.text))
			if j < min {
				t.Errorf("%s: Jaccard with the original = %.2f, want >= %.2f\n%q\n%q", v.name, j, min, Normalize(g.base).Folded, Normalize(v.text).Folded)
			}
		}
	}
	// The pure obfuscations must normalise to the very same text.
	for _, i := range []int{0, 1, 2, 6} {
		if a, b := Normalize(narrativeEN).Text, Normalize(hostileEN[i].text).Text; a != b {
			t.Errorf("%s: Text = %q, want %q", hostileEN[i].name, b, a)
		}
	}
	if a, b := Normalize(narrativeFR).Folded, Normalize(hostileFR[0].text).Folded; a != b {
		t.Errorf("accent-free French: Folded = %q, want %q", b, a)
	}
	if a, b := Normalize(narrativeZH).Text, Normalize(hostileZH[0].text).Text; a != b {
		t.Errorf("traditional Chinese: Text = %q, want %q", b, a)
	}
}

// readTexts loads the text field of the organic replies copied from public
// data sets (see ../testdata/narrative/SOURCE.md).
func readTexts(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Text)
	}
	return out
}

// Real near-topic replies (the Ottawa shooting threads, Weibo comments on the
// same posts) share words but were written separately: almost no pair may
// reach the clustering threshold. The few that do are real copies (manual
// retweets of one breaking-news tweet, Weibo reposts quoting one line), which
// a narrative rule is right to group; they are about 0.15 % of pairs.
func TestOrganicRepliesStayApart(t *testing.T) {
	for _, file := range []string{"../testdata/narrative/pheme_ottawa.jsonl", "../testdata/narrative/weibo_ced.jsonl"} {
		texts := readTexts(t, file)
		var sets [][]uint32
		for _, s := range texts {
			n := Normalize(s)
			if n.Latin < 25 && n.Han < 10 {
				continue
			}
			sets = append(sets, Shingles(n.Folded))
		}
		pairs, close := 0, 0
		for i := range sets {
			for j := i + 1; j < len(sets); j++ {
				pairs++
				if Jaccard(sets[i], sets[j]) >= 0.6 {
					close++
				}
			}
		}
		if pairs < 10000 {
			t.Fatalf("%s: only %d pairs compared", file, pairs)
		}
		if rate := float64(close) / float64(pairs); rate > 0.002 {
			t.Errorf("%s: %d of %d organic pairs (%.4f%%) reach Jaccard 0.6", file, close, pairs, 100*rate)
		}
		t.Logf("%s: %d texts, %d of %d pairs >= 0.6", file, len(sets), close, pairs)
	}
}

func TestShingles(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"ab", 1},        // shorter than a 4-gram: one shingle
		{"abcd", 1},      // one 4-gram
		{"abcdef", 3},    // abcd bcde cdef
		{"ab, cd", 3},    // "ab c" "b cd" with punctuation as space: ab_c b_cd -> 2? see below
		{"丑闻曝光", 3},      // 丑闻 闻曝 曝光
		{"丑", 1},         // a lone Han character is a unigram
		{"abab abab", 5}, // repeated grams are one
	}
	// "ab, cd" is the stream "ab cd": grams "ab c", "b cd" = 2.
	tests[4].want = 2
	// "abab abab": abab bab_ ab_a b_ab _aba... = abab, "bab ", "ab a", "b ab", " aba" -> 5 distinct.
	for _, tt := range tests {
		got := Shingles(tt.in)
		if len(got) != tt.want {
			t.Errorf("Shingles(%q) has %d shingles, want %d", tt.in, len(got), tt.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("Shingles(%q) not a sorted set: %v", tt.in, got)
			}
		}
	}
	// Han runs and Latin words do not shingle across each other.
	mixed := Shingles("mp丑闻")
	if len(mixed) != 2 { // "mp" short stream + "丑闻"
		t.Errorf("mixed script: %d shingles, want 2", len(mixed))
	}
}

func TestCompact16(t *testing.T) {
	a, b := shingleOf(narrativeEN), shingleOf(hostileEN[7].text)
	a16, b16 := Compact16(a, nil), Compact16(b, nil)
	if d := math.Abs(Jaccard(a, b) - Jaccard(a16, b16)); d > 0.01 {
		t.Errorf("16-bit Jaccard off by %.3f", d)
	}
	for i := 1; i < len(a16); i++ {
		if a16[i] <= a16[i-1] {
			t.Fatal("not a sorted set")
		}
	}
	// Compact16 is the sorted set of folded values, repeats dropped, at
	// every size; Distinct16 the same values in order of first occurrence,
	// leaving its marks empty; reuse of dst leaks no old values.
	long := AppendShingleHashes(nil, Normalize(narrativeEN+" "+narrativeFR+" "+narrativeEN).Folded)
	long = append(long, long[:40]...)
	var got, dist []uint16
	var m Marks
	for n := 0; n <= len(long); n++ {
		want := make([]uint16, 0, n)
		var first []uint16
		for _, h := range long[:n] {
			v := uint16(h ^ h>>16)
			want = append(want, v)
			if !slices.Contains(first, v) {
				first = append(first, v)
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if got = Compact16(long[:n], got); !slices.Equal(got, want) {
			t.Fatalf("%d hashes: %v, want %v", n, got, want)
		}
		if dist = m.Distinct16(long[:n], dist); !slices.Equal(dist, first) {
			t.Fatalf("%d hashes: Distinct16 gave %v, want %v", n, dist, first)
		}
		if m != (Marks{}) {
			t.Fatalf("%d hashes: Distinct16 left marks set", n)
		}
	}
	if len(first16(long)) == len(long) {
		t.Fatal("no repeated value: de-duplication is not tested")
	}
	// Unrelated real replies stay unrelated.
	texts := readTexts(t, "../testdata/narrative/pheme_ottawa.jsonl")
	worst := 0.0
	for i := 0; i+1 < len(texts); i++ {
		x, y := shingleOf(texts[i]), shingleOf(texts[i+1])
		worst = max(worst, math.Abs(Jaccard(x, y)-Jaccard(Compact16(x, nil), Compact16(y, nil))))
	}
	if worst > 0.02 {
		t.Errorf("16-bit Jaccard off by up to %.3f on real replies", worst)
	}
}

// first16 is the distinct folded values of set.
func first16(set []uint32) []uint16 {
	var m Marks
	return m.Distinct16(set, nil)
}

// Marks give exactly Jaccard's value on 16-bit sets.
func TestMarksJaccard(t *testing.T) {
	texts := readTexts(t, "../testdata/narrative/pheme_ottawa.jsonl")
	texts = append(texts, narrativeEN, narrativeFR, hostileEN[7].text)
	var m Marks
	for i := 0; i+1 < len(texts); i++ {
		a, b := Compact16(shingleOf(texts[i]), nil), Compact16(shingleOf(texts[i+1]), nil)
		m.Mark(a)
		if got, want := m.JaccardMarked(a, b), Jaccard(a, b); got != want {
			t.Fatalf("texts %d and %d: marked Jaccard %v, want %v", i, i+1, got, want)
		}
		if got, want := m.JaccardMarked(a, a), Jaccard(a, a); got != want {
			t.Fatalf("text %d with itself: %v, want %v", i, got, want)
		}
		// CommonAtLeast agrees with Common at every bound.
		common := m.Common(b)
		for need := 0; need <= len(b)+1; need++ {
			n, ok := m.CommonAtLeast(b, need)
			if ok != (common >= need) || ok && n != common {
				t.Fatalf("texts %d and %d: CommonAtLeast(need %d) = %d, %v; Common = %d", i, i+1, need, n, ok, common)
			}
		}
		m.Unmark(a)
		if m != (Marks{}) {
			t.Fatalf("Unmark left bits set after text %d", i)
		}
	}
}

func TestJaccard(t *testing.T) {
	tests := []struct {
		a, b []uint32
		want float64
	}{
		{nil, nil, 0},
		{[]uint32{1}, nil, 0},
		{[]uint32{1, 2, 3}, []uint32{1, 2, 3}, 1},
		{[]uint32{1, 2, 3}, []uint32{4, 5}, 0},
		{[]uint32{1, 2, 3, 4}, []uint32{3, 4, 5, 6}, 2.0 / 6},
	}
	for _, tt := range tests {
		if got := Jaccard(tt.a, tt.b); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Jaccard(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// The fraction of agreeing bins estimates Jaccard; over many pairs the mean
// error must be small and no estimate wildly off.
func TestMinHashEstimatesJaccard(t *testing.T) {
	m := NewMinHasher(128, 42)
	texts := readTexts(t, "../testdata/narrative/pheme_ottawa.jsonl")
	var sumErr float64
	n := 0
	for i := 0; i+1 < len(texts); i += 2 {
		a, b := shingleOf(texts[i]), shingleOf(texts[i+1]+" "+texts[i])
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		j := Jaccard(a, b)
		sa, sb := m.Signature(a, nil), m.Signature(b, nil)
		agree := 0
		for k := range sa {
			if sa[k] == sb[k] {
				agree++
			}
		}
		est := float64(agree) / float64(len(sa))
		if math.Abs(est-j) > 0.3 {
			t.Errorf("pair %d: estimate %.2f, exact %.2f", i, est, j)
		}
		sumErr += math.Abs(est - j)
		n++
	}
	if mean := sumErr / float64(n); mean > 0.06 {
		t.Errorf("mean |estimate-exact| = %.3f over %d pairs, want <= 0.06", mean, n)
	}
	// Identical sets have identical signatures; the empty set is all zero.
	a := shingleOf(narrativeEN)
	if s1, s2 := m.Signature(a, nil), m.Signature(append([]uint32(nil), a...), nil); !equal(s1, s2) {
		t.Error("same set, different signatures")
	}
	raw := AppendShingleHashes(nil, Normalize(narrativeEN+" "+narrativeEN).Folded)
	if !equal(m.Signature(raw, nil), m.Signature(shingleOf(narrativeEN+" "+narrativeEN), nil)) {
		t.Error("unsorted hashes with repeats give another signature than the set")
	}
	for _, v := range m.Signature(nil, nil) {
		if v != 0 {
			t.Fatal("empty set signature not zero")
		}
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLSHAddRemoveCandidates(t *testing.T) {
	l := NewLSH(20, 4)
	m := NewMinHasher(l.SigLen(), 7)
	keysOf := func(s string) []uint32 {
		return l.BandKeys(m.Signature(shingleOf(s), nil), nil)
	}
	docs := []string{
		narrativeEN,
		hostileEN[3].text, // reordered: similar
		hostileEN[7].text, // one word swapped: similar
		"Thank you for your service to the riding, the new bridge is wonderful news for us.",
		"Completely unrelated remark about hockey scores and the weather in Winnipeg today.",
	}
	for i, d := range docs {
		l.Add(int32(i), keysOf(d))
	}
	if l.Len() != len(docs) {
		t.Fatalf("Len = %d", l.Len())
	}
	got := l.Candidates(keysOf(narrativeEN), nil)
	has := func(ids []int32, id int32) bool {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	}
	for _, id := range []int32{0, 1, 2} {
		if !has(got, id) {
			t.Errorf("candidates %v miss %d", got, id)
		}
	}
	for _, id := range []int32{3, 4} {
		if has(got, id) {
			t.Errorf("candidates %v include unrelated %d", got, id)
		}
	}
	if l.Hits(0) != l.Bands() || l.Hits(1) < 1 || l.Hits(1) > l.Bands() {
		t.Errorf("hits: identical %d (want %d), reordered %d", l.Hits(0), l.Bands(), l.Hits(1))
	}
	l.Remove(1)
	l.Remove(1) // twice is harmless
	if got := l.Candidates(keysOf(narrativeEN), nil); has(got, 1) || !has(got, 2) {
		t.Errorf("after Remove(1): candidates %v", got)
	}
	// Re-adding a slot with other content moves it.
	l.Add(2, keysOf(docs[4]))
	if got := l.Candidates(keysOf(narrativeEN), nil); has(got, 2) {
		t.Errorf("slot 2 re-added with other text still a candidate: %v", got)
	}
	for i := range docs {
		l.Remove(int32(i))
	}
	if l.Len() != 0 || l.buckets() != 0 {
		t.Errorf("after removing all: Len %d, %d buckets left", l.Len(), l.buckets())
	}
}

func TestLSHMaxChain(t *testing.T) {
	l := NewLSH(4, 2)
	keys := []uint32{1, 2, 3, 4}
	for i := range 10 {
		l.Add(int32(i), keys)
	}
	l.SetMaxChain(3)
	got := l.Candidates(keys, nil)
	if len(got) != 3 || got[0] != 9 || got[1] != 8 || got[2] != 7 {
		t.Errorf("capped candidates %v, want the newest three [9 8 7]", got)
	}
	l.SetMaxChain(0)
	if got := l.Candidates(keys, nil); len(got) != 10 {
		t.Errorf("uncapped: %d candidates", len(got))
	}
}

// The table of chain heads grows as items arrive; growing keeps every item
// findable, each once, and each chain newest first.
func TestLSHGrowKeepsChains(t *testing.T) {
	l := NewLSH(20, 4)
	shared := make([]uint32, 20) // every item's band 0 is the same bucket
	keysOf := func(i int) []uint32 {
		ks := make([]uint32, 20)
		for b := range ks {
			ks[b] = uint32(mix64(uint64(i)<<8 | uint64(b)))
		}
		ks[0] = shared[0]
		return ks
	}
	const n = 500 // 10,000 entries: the table grows from 1,024 slots
	for i := range n {
		l.Add(int32(i), keysOf(i))
	}
	if l.buckets() <= lshMinTable {
		t.Fatalf("%d buckets: the table did not grow", l.buckets())
	}
	for i := 0; i < n; i += 37 {
		got := l.Candidates(keysOf(i)[1:], nil)
		if len(got) != 1 || got[0] != int32(i) || l.Hits(int32(i)) != 19 {
			t.Errorf("item %d: candidates %v, hits %d", i, got, l.Hits(int32(i)))
		}
		if ks := l.Keys(int32(i), nil); !equal(ks, keysOf(i)) {
			t.Errorf("item %d: keys %v", i, ks)
		}
	}
	l.SetMaxChain(3)
	if got := l.Candidates(shared[:1], nil); len(got) != 3 || got[0] != n-1 || got[1] != n-2 || got[2] != n-3 {
		t.Errorf("shared bucket after growth: %v, want the newest three", got)
	}
	for i := range n {
		l.Remove(int32(i))
	}
	if l.Len() != 0 || l.buckets() != 0 {
		t.Errorf("after removing all: Len %d, %d buckets left", l.Len(), l.buckets())
	}
}

func TestLSHProbability(t *testing.T) {
	l := NewLSH(20, 4)
	if th := l.Threshold(); math.Abs(th-0.4729) > 0.001 {
		t.Errorf("threshold %.4f", th)
	}
	if p := l.CandidateProbability(0.6); math.Abs(p-0.938) > 0.001 {
		t.Errorf("P(0.6) = %.3f", p)
	}
}

func TestUnionFind(t *testing.T) {
	u := NewUnionFind(6)
	if !u.Union(0, 1) || !u.Union(1, 2) || u.Union(0, 2) {
		t.Error("union results wrong")
	}
	u.Union(4, 5)
	if u.Find(0) != u.Find(2) || u.Find(0) == u.Find(3) || u.Find(4) != u.Find(5) || u.Find(3) == u.Find(4) {
		t.Error("components wrong")
	}
	u.Grow(8)
	if u.Len() != 8 || u.Find(7) != 7 {
		t.Error("grow")
	}
	u.Reset(3)
	if u.Find(1) != 1 {
		t.Error("reset")
	}
}

func TestT2SLoads(t *testing.T) {
	if err := T2SError(); err != nil {
		t.Fatalf("opencc t2s: %v", err)
	}
	if got := Normalize("醜聞 議員 後來").Text; got != "丑闻 议员 后来" {
		t.Errorf("t2s: %q", got)
	}
	_ = strings.TrimSpace
}

// Candidates walks the bands' chains side by side; its result must be what
// walking them one position at a time gives: matches ordered by their
// position in their chain, then by band, each chain cut after maxChain
// matches, each id once with the count of bands it matched.
func TestLSHCandidatesOrder(t *testing.T) {
	const bands, items = 6, 3000
	next := xorshift(7)
	keyOf := func(b int) uint32 {
		v := next()
		if v%3 == 0 {
			v = v >> 8 % 20 // crowded buckets
		}
		return uint32(mix64(uint64(b+1)<<32 ^ v))
	}
	l := NewLSH(bands, 1)
	ks := make([]uint32, bands)
	for id := range int32(items) {
		for b := range ks {
			ks[b] = keyOf(b)
		}
		l.Add(id, ks)
		if id%5 == 0 && id > 10 {
			l.Remove(id - 7)
		}
	}
	for _, maxChain := range []int{0, 1, 5, 32} {
		l.SetMaxChain(maxChain)
		for q := range 200 {
			qk := make([]uint32, bands)
			for b := range qk {
				qk[b] = keyOf(b)
			}
			if own := l.Keys(int32(q*7+1), nil); q%4 == 0 && len(own) == bands {
				qk = own // an indexed item's own keys
			}
			type match struct{ pos, e int }
			var ms []match
			for _, k := range qk {
				walked := 0
				pos := 0
				for e := l.heads[k&uint32(len(l.heads)-1)]; e >= 0; e = l.ents[e].next {
					if l.ents[e].key == k {
						if maxChain > 0 && walked == maxChain {
							break
						}
						walked++
						ms = append(ms, match{pos, int(e)})
					}
					pos++
				}
			}
			slices.SortStableFunc(ms, func(a, b match) int {
				if a.pos != b.pos {
					return a.pos - b.pos
				}
				return a.e%bands - b.e%bands
			})
			var want []int32
			hits := map[int32]int{}
			for _, m := range ms {
				id := int32(m.e / bands)
				if hits[id] == 0 {
					want = append(want, id)
				}
				hits[id]++
			}
			got := l.Candidates(qk, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("maxChain %d query %d: candidates\n%v\nwant\n%v", maxChain, q, got, want)
			}
			for id, h := range hits {
				if l.Hits(id) != h {
					t.Fatalf("maxChain %d query %d: hits of %d = %d, want %d", maxChain, q, id, l.Hits(id), h)
				}
			}
		}
	}
}

// refShingles is the shingling rule written out plainly, each shingle as a
// tagged string in text order: Latin 4-grams over one spaced stream in which
// any run of separators (and a CJK run) is one space, bigrams within a CJK
// run, a lone CJK character as a unigram, and a stream too short for a
// 4-gram as one shingle.
func refShingles(s string) []string {
	var out []string
	var stream []rune
	var cjk []rune
	pend := false
	endRun := func() {
		if len(cjk) == 1 {
			out = append(out, "1:"+string(cjk))
		}
		cjk = cjk[:0]
	}
	pushLatin := func(r rune) {
		stream = append(stream, r)
		if len(stream) >= 4 {
			out = append(out, "4:"+string(stream[len(stream)-4:]))
		}
	}
	for _, r := range s {
		if r >= 0x80 && isCJK(r) {
			if len(cjk) > 0 {
				out = append(out, "2:"+string(cjk[len(cjk)-1])+string(r))
			}
			cjk = append(cjk, r)
			pend = len(stream) > 0
			continue
		}
		endRun()
		if !isWordRune(r) {
			pend = len(stream) > 0
			continue
		}
		if pend {
			pushLatin(' ')
			pend = false
		}
		pushLatin(r)
	}
	endRun()
	if n := len(stream); n > 0 && n < 4 {
		out = append(out, "s:"+string(stream))
	}
	return out
}

// AppendShingleHashes yields the reference shingles, in order, with one hash
// per distinct shingle over a whole corpus: the set is the same as the
// rule's, and no two shingles of the corpus collide.
func TestShingleHashesMatchReference(t *testing.T) {
	texts := []string{"", "a", "ab", "abc", "abcd", "丑", "丑a", "a丑b", "mp丑闻", "丑闻 mp", "a, b", "ab  cd", "x 丑 y 闻 z",
		"𠀀𠀁 a𝐀bc 𝐀𝐁", // above the Basic Multilingual Plane: a CJK pair, math letters
		"a\xffb\xfe丑\xc0闻", "ÅNGSTRÖM straße ﬁ ДОМ دولة हिन्दी", "の平仮名カタカナ한국어 ok",
		narrativeEN, narrativeFR, narrativeZH}
	for _, file := range []string{"../testdata/narrative/pheme_ottawa.jsonl", "../testdata/narrative/weibo_ced.jsonl"} {
		for _, s := range readTexts(t, file) {
			texts = append(texts, s, Normalize(s).Folded)
		}
	}
	hashOf := map[string]uint32{}
	shingleOf := map[uint32]string{}
	for _, s := range texts {
		got, want := AppendShingleHashes(nil, s), refShingles(s)
		if len(got) != len(want) {
			t.Fatalf("%q: %d shingles, want %d: %q", s, len(got), len(want), want)
		}
		for i, w := range want {
			if h, ok := hashOf[w]; ok && h != got[i] {
				t.Fatalf("%q: shingle %q hashed to %08x and %08x", s, w, h, got[i])
			}
			if o, ok := shingleOf[got[i]]; ok && o != w {
				t.Fatalf("%q: shingles %q and %q share hash %08x", s, o, w, got[i])
			}
			hashOf[w], shingleOf[got[i]] = got[i], w
		}
	}
	if len(hashOf) < 10000 {
		t.Errorf("only %d distinct shingles checked", len(hashOf))
	}
	// Folded to 16 bits (Compact16), distinct shingles collide as often as
	// random values would: a hash whose low and high halves were related
	// would lose more of the set, and overstate Jaccard.
	folded := map[uint16]bool{}
	for h := range shingleOf {
		folded[uint16(h^h>>16)] = true
	}
	n := float64(len(shingleOf))
	lost, want := n-float64(len(folded)), n-65536*(1-math.Exp(-n/65536))
	if math.Abs(lost-want) > 0.15*want {
		t.Errorf("%d shingles fold to %d 16-bit values: %.0f lost, random values would lose %.0f", len(shingleOf), len(folded), lost, want)
	}
	t.Logf("%d shingles, %d 16-bit values: %.0f lost, %.0f expected", len(shingleOf), len(folded), lost, want)
}

// The packed class table agrees with the classification it was built from.
func TestRuneClassTable(t *testing.T) {
	tab := runeClasses()
	counts := [3]int{}
	for r := rune(0x80); r <= 0xFFFF; r++ {
		got := uint8(tab[r>>5]>>(uint(r&31)*2)) & 3
		if want := classOf(r); got != want {
			t.Fatalf("U+%04X: class %d, want %d", r, got, want)
		}
		counts[got]++
	}
	// Han alone has over 20,000 characters in the plane, Hangul 11,000.
	if counts[classCJK] < 30000 || counts[classWord] < 10000 || counts[classSep] < 1000 {
		t.Errorf("class counts %v look wrong", counts)
	}
}

// similarPairs builds pairs of real replies over the whole range of
// similarity: a reply against itself with a growing share of its words
// (characters, for Chinese) replaced by those of another reply, and
// unrelated consecutive replies.
func similarPairs(t *testing.T) [][2]string {
	var pairs [][2]string
	for _, file := range []string{"../testdata/narrative/pheme_ottawa.jsonl", "../testdata/narrative/weibo_ced.jsonl"} {
		texts := readTexts(t, file)
		for i := 0; i+1 < len(texts); i++ {
			a, b := Normalize(texts[i]).Folded, Normalize(texts[i+1]).Folded
			pairs = append(pairs, [2]string{a, b})
			sep := " "
			ua, ub := strings.Fields(a), strings.Fields(b)
			if len(ua) < 4 {
				sep, ua, ub = "", strings.Split(a, ""), strings.Split(b, "")
			}
			if len(ua) < 4 || len(ub) == 0 {
				continue
			}
			for _, frac := range []int{1, 3, 6} { // tenths replaced
				v := slices.Clone(ua)
				for k := range v {
					if (k*7+i)%10 < frac {
						v[k] = ub[k%len(ub)]
					}
				}
				pairs = append(pairs, [2]string{a, strings.Join(v, sep)})
			}
		}
	}
	return pairs
}

// With the shipped signature length (30 bands × 4 rows), the share of
// agreeing positions tracks the exact Jaccard of real pairs: no bias at any
// level of similarity, and a spread close to the binomial one of 120
// independent positions. Densification (short replies leave most bins
// empty) may widen the spread somewhat, never shift the mean.
func TestMinHashTracksJaccard(t *testing.T) {
	const k = 120
	m := NewMinHasher(k, 0x6d7077617463682d)
	type acc struct {
		n                 int
		sumErr, sumSq, bv float64
	}
	var levels [5]acc // exact Jaccard in fifths
	var all acc
	for _, p := range similarPairs(t) {
		a, b := Shingles(p[0]), Shingles(p[1])
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		j := Jaccard(a, b)
		sa, sb := m.Signature(a, nil), m.Signature(b, nil)
		agree := 0
		for i := range sa {
			if sa[i] == sb[i] {
				agree++
			}
		}
		e := float64(agree)/k - j
		for _, x := range []*acc{&all, &levels[min(int(j*5), 4)]} {
			x.n++
			x.sumErr += e
			x.sumSq += e * e
			x.bv += j * (1 - j) / k
		}
	}
	if all.n < 1500 {
		t.Fatalf("only %d pairs", all.n)
	}
	for i, l := range append(levels[:], all) {
		if l.n < 50 {
			t.Errorf("level %d: only %d pairs", i, l.n)
			continue
		}
		bias, rms, binom := l.sumErr/float64(l.n), math.Sqrt(l.sumSq/float64(l.n)), math.Sqrt(l.bv/float64(l.n))
		// The mean of n errors of spread binom wanders by binom/√n; allow 4 of those.
		if tol := 4*binom/math.Sqrt(float64(l.n)) + 0.002; math.Abs(bias) > tol {
			t.Errorf("level %d (%d pairs): mean error %+.4f, want within ±%.4f", i, l.n, bias, tol)
		}
		if rms > 1.5*binom+0.005 {
			t.Errorf("level %d (%d pairs): rms error %.4f, binomial %.4f", i, l.n, rms, binom)
		}
		t.Logf("Jaccard level %d: %4d pairs, mean error %+.4f, rms %.4f (binomial %.4f)", i, l.n, bias, rms, binom)
	}
}

// Over independent hash families (seeds) the estimate for one pair averages
// to its exact Jaccard, for a long pair (few empty bins) and a short one
// (mostly densified bins).
func TestMinHashUnbiasedOverSeeds(t *testing.T) {
	pairs := [][2]string{
		{narrativeEN, hostileEN[7].text},
		{narrativeZH, hostileZH[len(hostileZH)-1].text},
		{"shame on you mp", "shame on you, minister"},
	}
	const k, seeds = 120, 400
	for _, p := range pairs {
		a, b := shingleOf(p[0]), shingleOf(p[1])
		j := Jaccard(a, b)
		sum := 0.0
		for seed := range uint64(seeds) {
			m := NewMinHasher(k, seed*0x9E3779B97F4A7C15+1)
			sa, sb := m.Signature(a, nil), m.Signature(b, nil)
			agree := 0
			for i := range sa {
				if sa[i] == sb[i] {
					agree++
				}
			}
			sum += float64(agree) / k
		}
		// Positions of one signature are not independent once
		// densified, so allow for more than the binomial spread.
		mean, se := sum/seeds, math.Sqrt(j*(1-j)/(k*seeds))
		if math.Abs(mean-j) > 6*se+0.002 {
			t.Errorf("%q ~ %q (%d and %d shingles): mean estimate %.4f over %d seeds, exact %.4f (se %.4f)", p[0], p[1], len(a), len(b), mean, seeds, j, se)
		}
	}
}

// FuzzShingleHashes: on any input, valid UTF-8 or not, the shingles are the
// reference's, within the capacity AppendShingleHashes reserves from the
// text's length, and equal shingles hash equally; reusing dst changes
// nothing.
func FuzzShingleHashes(f *testing.F) {
	for _, s := range []string{"", "a", "a丑", "丑a", "a丑b", ", ,a", "a ,", "ab\xffcd", "丑\xe4\xb8", "𠀀a𝐀", narrativeEN, narrativeZH} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := AppendShingleHashes(nil, s), refShingles(s)
		if len(got) != len(want) || len(got) > len(s)+1 {
			t.Fatalf("%q: %d shingles, want %d", s, len(got), len(want))
		}
		seen := map[string]uint32{}
		for i, w := range want {
			if h, ok := seen[w]; ok && h != got[i] {
				t.Fatalf("%q: shingle %q hashed to %08x and %08x", s, w, h, got[i])
			}
			seen[w] = got[i]
		}
		if again := AppendShingleHashes(make([]uint32, 3, 5), s); !slices.Equal(again, got) {
			t.Fatalf("%q: reused dst gives %v, want %v", s, again, got)
		}
	})
}

// sortHashes sorts like slices.Sort at every size, skewed input included.
func TestSortHashes(t *testing.T) {
	long := AppendShingleHashes(nil, Normalize(strings.Repeat(narrativeEN+" "+narrativeFR+" ", 8)).Folded)
	long = append(long, long[:50]...)
	skewed := make([]uint32, 300)
	for i := range skewed {
		skewed[i] = uint32(len(skewed)-i) * 7 // all in one bucket, descending
	}
	for _, in := range [][]uint32{long, skewed} {
		for n := 0; n <= min(len(in), 1100); n += 1 + n/16 {
			got, want := slices.Clone(in[:n]), slices.Clone(in[:n])
			sortHashes(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%d hashes: not sorted like slices.Sort", n)
			}
		}
	}
	if len(long) <= 1024 {
		t.Errorf("only %d hashes: the comparison-sort fallback is not tested", len(long))
	}
}

// refSignature is one-permutation MinHash with optimal densification
// written plainly, each empty bin walking its probe sequence from the
// start: Signature's cached, blocked walk must give the same values.
func refSignature(m *MinHasher, set []uint32) []uint32 {
	k := m.K()
	sig, filled := make([]uint32, k), make([]bool, k)
	for _, x := range set {
		h := mix64(uint64(x) ^ m.seed)
		bin, _ := bits.Mul64(h, uint64(k))
		if v := min(uint32(h), emptyBin-1); !filled[bin] || v < sig[bin] {
			sig[bin], filled[bin] = v, true
		}
	}
	if !slices.Contains(filled, true) {
		return sig
	}
	out := slices.Clone(sig)
	for i := range k {
		for t := uint64(1); !filled[i]; t++ {
			if j := m.probe(i, t); filled[j] {
				out[i] = sig[j]
				break
			}
		}
	}
	return out
}

func TestSignatureMatchesReference(t *testing.T) {
	var sets [][]uint32
	for _, s := range readTexts(t, "../testdata/narrative/weibo_ced.jsonl")[:60] {
		sets = append(sets, shingleOf(s))
	}
	for _, s := range readTexts(t, "../testdata/narrative/pheme_ottawa.jsonl")[:60] {
		sets = append(sets, shingleOf(s))
	}
	sets = append(sets, nil, []uint32{7}, []uint32{1, 2}, shingleOf(strings.Repeat(narrativeEN+" "+narrativeFR+" ", 5)))
	var sig []uint32
	for _, k := range []int{1, 7, 64, 120, 128, 700} {
		for _, seed := range []uint64{1, 0x6d7077617463682d} {
			m := NewMinHasher(k, seed)
			for i, set := range sets {
				sig = m.Signature(set, sig)
				if want := refSignature(m, set); !slices.Equal(sig, want) {
					t.Fatalf("k=%d seed=%x set %d (%d shingles): signature differs from the reference", k, seed, i, len(set))
				}
			}
		}
	}
}
