package text

import "math/bits"

// MinHasher computes MinHash signatures by one-permutation hashing with
// optimal densification (Shrivastava 2017): each shingle is hashed once and
// falls into one of k bins, each bin keeps its minimum, and empty bins borrow
// the value of a bin chosen by a fixed hash sequence. For two sets the
// probability that a bin agrees is their Jaccard similarity, as with k
// independent permutations, at the cost of one hash per shingle instead of k.
type MinHasher struct {
	k    int
	seed uint64
	// probes caches the first probeCache bins of each empty bin's probe
	// sequence. A bin borrows after k/filled probes on average: 3 for a
	// 40-shingle reply at 120 bins, 12 for a 10-shingle one. With 8 cached,
	// computing the rest was a fifth of the time of signing the short
	// replies of benchMix; 32 (7.5 KB at 120 bins) leave it to replies of
	// a handful of shingles.
	probes []uint16
}

const probeCache = 32

// NewMinHasher returns a hasher with k bins (1..4096). The seed fixes the
// hash family: signatures from hashers with different seeds do not compare.
func NewMinHasher(k int, seed uint64) *MinHasher {
	if k < 1 || k > 4096 {
		panic("text: minhash k out of range")
	}
	m := &MinHasher{k: k, seed: seed, probes: make([]uint16, k*probeCache)}
	for i := 0; i < k; i++ {
		for t := 1; t <= probeCache; t++ {
			m.probes[i*probeCache+t-1] = uint16(m.probe(i, uint64(t)))
		}
	}
	return m
}

// probe is the t-th bin an empty bin i borrows from. It depends only on
// (seed, i, t), so two sets borrow from the same bins whenever those are
// filled in both.
func (m *MinHasher) probe(i int, t uint64) uint64 {
	j, _ := bits.Mul64(mix64(m.seed^uint64(i)<<32^t*0x9E3779B97F4A7C15), uint64(m.k))
	return j
}

// K is the signature length.
func (m *MinHasher) K() int { return m.k }

// Signature appends the signature of a shingle set to dst[:0]. The set need
// not be sorted and may repeat elements. An empty set has an all-zero
// signature.
func (m *MinHasher) Signature(set []uint32, dst []uint32) []uint32 {
	k := m.k
	if cap(dst) < k {
		dst = make([]uint32, k)
	}
	dst = dst[:k]
	for i := range dst {
		dst[i] = ^uint32(0)
	}
	var filledBuf [64]uint64
	filled := filledBuf[:(k+63)/64]
	// No branch per shingle: whether a bin is new and whether a value is
	// its new minimum are coin flips the processor cannot predict, and the
	// branches cost more than the hashing (2.4 µs for a 160-shingle reply
	// at 120 bins; about 0.6 µs without them).
	seed := m.seed
	for _, x := range set {
		h := mix64(uint64(x) ^ seed)
		bin, _ := bits.Mul64(h, uint64(k)) // high word: uniform in [0,k)
		filled[bin>>6] |= 1 << (bin & 63)
		dst[bin] = min(dst[bin], uint32(h))
	}
	nfilled := 0
	for _, w := range filled {
		nfilled += bits.OnesCount64(w)
	}
	if nfilled == 0 {
		clear(dst)
		return dst
	}
	if nfilled == k {
		return dst
	}
	// Densify: visit only the empty bins, by the zero bits of filled.
	for wi, w := range filled {
		empty := ^w
		if last := k - wi*64; last < 64 {
			empty &= 1<<last - 1
		}
		for ; empty != 0; empty &= empty - 1 {
			i := wi*64 + bits.TrailingZeros64(empty)
			dst[i] = dst[m.source(i, filled)]
		}
	}
	return dst
}

// source is the first filled bin of empty bin i's probe sequence.
func (m *MinHasher) source(i int, filled []uint64) uint64 {
	for _, j := range m.probes[i*probeCache : (i+1)*probeCache] {
		if filled[j>>6]&(1<<(j&63)) != 0 {
			return uint64(j)
		}
	}
	for t := uint64(probeCache + 1); ; t++ {
		if j := m.probe(i, t); filled[j>>6]&(1<<(j&63)) != 0 {
			return j
		}
	}
}

// mix64 is the splitmix64 finaliser: a bijection that spreads every input
// bit over the output.
func mix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
