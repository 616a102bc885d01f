package text

import (
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Shingle sizes: character 4-grams where words are spaced, bigrams where
// they are not (a Chinese bigram carries about as much as an English 4-gram).
const (
	latinGram = 4
	cjkGram   = 2
)

// Shingles returns the hashed character shingles of a normalised text as a
// sorted set. Give it Normalized.Folded, so accents do not change the set.
func Shingles(s string) []uint32 { return AppendShingles(nil, s) }

// AppendShingles appends the shingle set of s to dst[:0] and returns it,
// reusing dst's storage.
func AppendShingles(dst []uint32, s string) []uint32 {
	dst = AppendShingleHashes(dst, s)
	sortHashes(dst)
	return slices.Compact(dst)
}

// sortHashes sorts a reply's shingle hashes. They are uniform, so a
// counting sort on the top 8 bits leaves about one value per bucket for
// an insertion sort to finish. slices.Sort took 3 to 7 times as long (CPU
// per reply: 0.68 against 0.24 µs for benchMix's real replies, 3.5 against
// 0.51 µs for generated ones). Sets too small or too large for the 256
// buckets, or for the scratch array, go to the comparison sort.
func sortHashes(a []uint32) {
	const buckets = 256
	if len(a) < 32 || len(a) > 1024 {
		slices.Sort(a)
		return
	}
	var (
		start   [buckets]uint16
		scratch [1024]uint32
	)
	for _, h := range a {
		start[h>>24]++
	}
	sum := uint16(0)
	for b, c := range start {
		start[b] = sum
		sum += c
	}
	for _, h := range a {
		scratch[start[h>>24]] = h
		start[h>>24]++
	}
	copy(a, scratch[:len(a)])
	for i := 1; i < len(a); i++ {
		v := a[i]
		j := i
		for ; j > 0 && a[j-1] > v; j-- {
			a[j] = a[j-1]
		}
		a[j] = v
	}
}

// AppendShingleHashes appends the shingle hashes of s to dst[:0] in text
// order, repeats included: enough for MinHash and Compact16, which do not
// need a sorted set, and it saves a sort.
//
// A shingle's runes are packed into integers as the text is read (16 low
// bits of each of the last four runes in one word, their high 5 bits in
// another, plus a kind tag) and the integers are hashed with the splitmix64
// finaliser: xxhash over a 17-byte buffer per shingle cost 2.3 s of the
// 3.0 s this function took per million generated replies; it now takes
// about 0.5 µs of CPU a reply against 2.7 (BenchmarkTextPrep/synthetic/shingles).
// ASCII, most of the text, is classified by a 128-entry table and the rest
// of the Basic Multilingual Plane by a 16 KB table built once from isCJK and
// isWordRune, instead of searching the range tables of four scripts for
// every Han character.
func AppendShingleHashes(dst []uint32, s string) []uint32 {
	// Every byte of s yields at most one shingle (a word rune its 4-gram,
	// a run of separators its space's 4-gram, a CJK rune, at least 3
	// bytes, its bigram and the space after its run), plus one for a text
	// too short for a 4-gram.
	if cap(dst) < len(s)+1 {
		dst = make([]uint32, 0, len(s)+1+len(s)/4)
	}
	out := dst[:len(s)+1]
	n := 0
	var (
		win    uint64 // low 16 bits of the last four runes of the spaced stream
		hiw    uint64 // their bits above 16, 5 bits each
		nwin   int    // runes seen in the spaced stream
		pendSp bool   // a separator since the last rune of the stream
		cjkRun int    // length of the current run of CJK runes
		prev   rune   // the run's last rune
	)
	tab := runeClasses()
	for i := 0; i < len(s); {
		c := s[i]
		var (
			r rune
			k uint8
		)
		if c < utf8.RuneSelf {
			r, k = rune(c), asciiClass[c]
			i++
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(s[i:])
			i += size
			if r <= 0xFFFF {
				k = uint8(tab[r>>5]>>(uint(r&31)*2)) & 3
			} else {
				k = classOf(r)
			}
		}
		if k == classCJK {
			if cjkRun > 0 {
				out[n] = shingleHash(uint64(prev&0xFFFF)<<16|uint64(r&0xFFFF), uint64(prev>>16)<<5|uint64(r>>16)|kindBigram)
				n++
			}
			prev = r
			cjkRun++
			pendSp = nwin > 0
			continue
		}
		if cjkRun > 0 {
			if cjkRun == 1 {
				out[n] = shingleHash(uint64(prev&0xFFFF), uint64(prev>>16)|kindUnigram)
				n++
			}
			cjkRun = 0
		}
		if k == classSep {
			pendSp = nwin > 0
			continue
		}
		if pendSp {
			pendSp = false
			win, hiw = win<<16|' ', hiw<<5&0xFFFFF
			nwin++
			if nwin >= latinGram {
				out[n] = shingleHash(win, hiw)
				n++
			}
		}
		win, hiw = win<<16|uint64(r&0xFFFF), (hiw<<5|uint64(r>>16))&0xFFFFF
		nwin++
		if nwin >= latinGram {
			out[n] = shingleHash(win, hiw)
			n++
		}
		// The rest of an ASCII word needs none of the checks above: a
		// quarter less time for a generated reply (0.61 -> 0.47 µs). The
		// same for the rest of a CJK run saved nothing measurable.
		for i < len(s) && asciiWord[s[i]] {
			win, hiw = win<<16|uint64(s[i]), hiw<<5&0xFFFFF
			i++
			nwin++
			if nwin >= latinGram {
				out[n] = shingleHash(win, hiw)
				n++
			}
		}
	}
	if cjkRun == 1 {
		out[n] = shingleHash(uint64(prev&0xFFFF), uint64(prev>>16)|kindUnigram)
		n++
	}
	if nwin > 0 && nwin < latinGram {
		// Too short for one 4-gram: the whole stream is one shingle. The
		// unused slots of win are still zero, which no word rune is, so
		// the length is part of the value.
		out[n] = shingleHash(win, hiw|kindShort)
		n++
	}
	return out[:n]
}

// Kind tags, above the 20 bits of high rune bits, keep a CJK bigram, a lone
// CJK character and a short Latin stream apart from a 4-gram whose packed
// runes happen to be equal.
const (
	kindUnigram = 1 << 20
	kindBigram  = 2 << 20
	kindShort   = 3 << 20
)

// shingleHash hashes a shingle's packed runes lo and its high rune bits
// and kind tag hi. mix64 is a bijection, so two 4-grams of the Basic
// Multilingual Plane (hi = 0) never share a 64-bit hash; folding to 32
// bits leaves chance collisions at 2^-32 a pair.
//
// A cheaper mixer, one 128-bit multiplication with its halves XORed (as in
// wyhash), made this function a sixth faster (0.56 against 0.65 µs for a
// generated reply) and passed the tests here, but with it one Chinese
// campaign of the quality benchmark (bench/quality) fired 47 minutes after
// its threshold instead of 2.5: which near-threshold pairs share an LSH band
// is a draw of the hash family, and with splitmix the benchmark's alerts
// and lags are the same as with xxhash before.
func shingleHash(lo, hi uint64) uint32 {
	h := mix64(lo ^ hi*0xD6E8FEB86659FD93)
	return uint32(h ^ h>>32)
}

// Rune classes for shingling.
const (
	classSep  = 0 // punctuation, symbols, spaces: a word break
	classWord = 1 // a letter, digit or combining mark of a spaced script
	classCJK  = 2 // Han, kana, Hangul: shingled as bigrams
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		t[c] = classOf(rune(c))
	}
	return t
}()

// asciiWord tells the bytes that are ASCII word runes on their own.
var asciiWord = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = asciiClass[c] == classWord
	}
	return t
}()

func classOf(r rune) uint8 {
	switch {
	case r >= utf8.RuneSelf && isCJK(r):
		return classCJK
	case isWordRune(r):
		return classWord
	}
	return classSep
}

// runeClasses is classOf for the Basic Multilingual Plane, two bits a
// rune. Built on first use (about 2 ms) rather than at init, so programs
// that never shingle do not pay for it.
var runeClasses = sync.OnceValue(func() *[1 << 16 / 32]uint64 {
	t := new([1 << 16 / 32]uint64)
	for r := rune(utf8.RuneSelf); r <= 0xFFFF; r++ {
		t[r>>5] |= uint64(classOf(r)) << (uint(r&31) * 2)
	}
	return t
})

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// Jaccard is |a∩b| / |a∪b| of two sorted sets; two empty sets are 0 apart
// from nothing, so they score 0.
func Jaccard[T uint16 | uint32](a, b []T) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			inter++
			i++
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// Compact16 folds a shingle set to 16-bit hashes, sorted and de-duplicated,
// appended to dst[:0]. A window that keeps thousands of sets halves their
// memory this way; the cost is chance collisions, about |A|·|B|/65536 false
// common shingles between two sets (0.15 for two 100-shingle replies), which
// moves their Jaccard by well under 0.01. set need not be sorted.
// Comparing through Marks needs no order: see Marks.Distinct16.
func Compact16(set []uint32, dst []uint16) []uint16 {
	var m Marks
	dst = m.Distinct16(set, dst)
	slices.Sort(dst)
	return dst
}

// Marks is a 65,536-bit set of 16-bit shingles (8 KB, stays in cache).
// Marking one set once and probing it with each of many others is how one
// new text is compared with its candidates: a probe costs one load per
// element of the other set, with no branch to mispredict, where a merge of
// two sorted sets branches on every step.
type Marks [1024]uint64

// Mark adds the elements of set.
func (m *Marks) Mark(set []uint16) {
	for _, v := range set {
		m[v>>6] |= 1 << (v & 63)
	}
}

// Distinct16 folds a shingle set to 16-bit hashes as Compact16 does,
// de-duplicated but in the order of their first occurrence, appended to
// dst[:0]. m must be empty and is left empty. Jaccard through Marks
// (Common, CommonAtLeast, JaccardMarked) does not depend on order, so
// the sort is not needed. CPU per generated reply (127 shingles,
// BenchmarkTextPrep/synthetic/distinct16): 0.29 µs, against 0.48 µs when
// repeated_narrative sorted its sets through a pooled 65,536-bit map with
// a summary level.
func (m *Marks) Distinct16(set []uint32, dst []uint16) []uint16 {
	if cap(dst) < len(set) {
		dst = make([]uint16, len(set))
	}
	dst = dst[:len(set)]
	n := 0
	// No branch on whether a value was seen: it is written in any case
	// and kept by advancing n only when new.
	for _, h := range set {
		v := uint16(h ^ h>>16)
		w := &m[v>>6]
		bit := uint64(1) << (v & 63)
		dst[n] = v
		n += int(^*w >> (v & 63) & 1)
		*w |= bit
	}
	dst = dst[:n]
	m.Unmark(dst)
	return dst
}

// Unmark removes the elements of set; after marking set, it leaves m empty
// again at the cost of set's length rather than of clearing 8 KB.
func (m *Marks) Unmark(set []uint16) {
	for _, v := range set {
		m[v>>6] &^= 1 << (v & 63)
	}
}

// Common counts the elements of set that are marked.
func (m *Marks) Common(set []uint16) int {
	n := 0
	for _, v := range set {
		n += int(m[v>>6] >> (v & 63) & 1)
	}
	return n
}

// CommonAtLeast counts the marked elements of set, giving up (false) as
// soon as fewer than need could be reached: most candidate pairs miss the
// similarity threshold by far, and that shows within the first third of
// the set.
func (m *Marks) CommonAtLeast(set []uint16, need int) (int, bool) {
	n := 0
	for i := 0; i < len(set); i += 8 {
		if n+len(set)-i < need {
			return n, false
		}
		for _, v := range set[i:min(i+8, len(set))] {
			n += int(m[v>>6] >> (v & 63) & 1)
		}
	}
	return n, n >= need
}

// JaccardMarked is Jaccard(a, b) for the sorted sets a, whose elements are
// the ones marked in m, and b: the same value, faster.
func (m *Marks) JaccardMarked(a, b []uint16) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := m.Common(b)
	return float64(inter) / float64(len(a)+len(b)-inter)
}
