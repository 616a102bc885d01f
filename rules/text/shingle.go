package text

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
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
	slices.Sort(dst)
	return slices.Compact(dst)
}

// AppendShingleHashes appends the shingle hashes of s to dst[:0] in text
// order, repeats included: enough for MinHash and Compact16, which do not
// need a sorted set, and it saves a sort.
func AppendShingleHashes(dst []uint32, s string) []uint32 {
	dst = dst[:0]
	var (
		win     [latinGram]rune // last runes of the spaced stream
		nwin    int             // runes seen in the current spaced stream
		pendSp  bool
		prevCJK rune = -1
		cjkRun  int
		lastCJK rune
	)
	flushCJK := func() {
		if cjkRun == 1 {
			dst = append(dst, hashRunes(lastCJK, -1, -1, -1, 1))
		}
		cjkRun, prevCJK = 0, -1
	}
	push := func(r rune) {
		copy(win[:], win[1:])
		win[latinGram-1] = r
		nwin++
		if nwin >= latinGram {
			dst = append(dst, hashRunes(win[0], win[1], win[2], win[3], 0))
		}
	}
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if r >= utf8.RuneSelf && isCJK(r) {
			if prevCJK >= 0 {
				dst = append(dst, hashRunes(prevCJK, r, -1, -1, 2))
			}
			prevCJK, lastCJK = r, r
			cjkRun++
			pendSp = nwin > 0
			continue
		}
		if cjkRun > 0 {
			flushCJK()
		}
		if !isWordRune(r) {
			pendSp = nwin > 0
			continue
		}
		if pendSp {
			push(' ')
			pendSp = false
		}
		push(r)
	}
	if cjkRun > 0 {
		flushCJK()
	}
	if nwin > 0 && nwin < latinGram {
		// Too short for one 4-gram: the whole stream is one shingle.
		var g [latinGram]rune
		for k := range g {
			g[k] = -1
		}
		copy(g[latinGram-nwin:], win[latinGram-nwin:])
		dst = append(dst, hashRunes(g[0], g[1], g[2], g[3], 3))
	}
	return dst
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// hashRunes hashes up to four runes and a kind tag, so a CJK bigram never
// collides by construction with a Latin 4-gram.
func hashRunes(a, b, c, d rune, kind byte) uint32 {
	var buf [17]byte
	binary.LittleEndian.PutUint32(buf[0:], uint32(a))
	binary.LittleEndian.PutUint32(buf[4:], uint32(b))
	binary.LittleEndian.PutUint32(buf[8:], uint32(c))
	binary.LittleEndian.PutUint32(buf[12:], uint32(d))
	buf[16] = kind
	h := xxhash.Sum64(buf[:])
	return uint32(h ^ h>>32)
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
func Compact16(set []uint32, dst []uint16) []uint16 {
	dst = dst[:0]
	if len(set) < 48 {
		for _, h := range set {
			dst = append(dst, uint16(h^h>>16))
		}
		slices.Sort(dst)
		return slices.Compact(dst)
	}
	// Sorting through a 65,536-bit map (8 KB, stays in cache) beats a
	// comparison sort for reply-sized sets, and de-duplicates for free.
	bm := bitmaps.Get().(*[1024]uint64)
	lo, hi := 1024, 0
	for _, h := range set {
		v := uint16(h ^ h>>16)
		w := int(v >> 6)
		bm[w] |= 1 << (v & 63)
		lo, hi = min(lo, w), max(hi, w)
	}
	for w := lo; w <= hi; w++ {
		for x := bm[w]; x != 0; x &= x - 1 {
			dst = append(dst, uint16(w<<6|bits.TrailingZeros64(x)))
		}
		bm[w] = 0
	}
	bitmaps.Put(bm)
	return dst
}

var bitmaps = sync.Pool{New: func() any { return new([1024]uint64) }}

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
