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
//
// A generated reply (127 shingles, 120 bins) takes 0.68 µs of CPU, 2.06 µs
// before the changes described below (BenchmarkTextPrep/synthetic/signature).
func (m *MinHasher) Signature(set []uint32, dst []uint32) []uint32 {
	k := m.k
	if cap(dst) < k {
		dst = make([]uint32, k)
	}
	dst = dst[:k]
	for i := range dst {
		dst[i] = ^uint32(0)
	}
	// No branch per shingle: whether a value is its bin's new minimum is a
	// coin flip the processor cannot predict. Empty bins are told by the
	// value ^0, which no shingle leaves (its 2^-32 chance is folded onto
	// ^0-1): marking filled bins in a bitmap as the shingles come chained
	// each one's store to the next one's load, and took a third of the time.
	seed := m.seed
	for _, x := range set {
		h := mix64(uint64(x) ^ seed)
		bin, _ := bits.Mul64(h, uint64(k)) // high word: uniform in [0,k)
		dst[bin] = min(dst[bin], uint32(h), emptyBin-1)
	}
	// Filled bins twice over: a bitmap, to visit only the empty ones, and a
	// byte per bin, for the probes to test with one load.
	var (
		filledBuf [64]uint64
		flagBuf   [512]uint8
	)
	filled := filledBuf[:(k+63)/64]
	flags := flagBuf[:]
	if k > len(flagBuf) { // beyond any banding in use; allocates
		flags = make([]uint8, k)
	}
	nfilled := 0
	for wi := range filled {
		var w uint64
		for b, v := range dst[wi*64 : min(wi*64+64, k)] {
			f := (uint64(v)+1)>>32 ^ 1
			w |= f << b
			flags[wi*64+b] = uint8(f)
		}
		filled[wi] = w
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
			// The first four probes inline (the call cost a third of
			// densifying a generated reply), usually all it takes.
			p := m.probes[i*probeCache : i*probeCache+4]
			var j uint64
			if mask := uint(flags[p[0]]) | uint(flags[p[1]])<<1 | uint(flags[p[2]])<<2 | uint(flags[p[3]])<<3; mask != 0 {
				j = uint64(p[bits.TrailingZeros(mask)])
			} else {
				j = m.source(i, flags)
			}
			dst[i] = dst[j]
		}
	}
	return dst
}

// emptyBin marks a bin no shingle fell into.
const emptyBin = ^uint32(0)

// source is the first filled bin of empty bin i's probe sequence, past
// the first four probes, which Signature tests itself. The cached probes
// are tested four at a time without branching and the first hit is picked
// from the mask: with one branch per probe, the processor mispredicted
// about once per empty bin, as many as half the bins of a short reply.
// (Eight at a time took 10 % more time, two then four 5 % less, not worth
// the code.)
func (m *MinHasher) source(i int, flags []uint8) uint64 {
	p := m.probes[i*probeCache+4 : (i+1)*probeCache]
	for len(p) >= 4 {
		mask := uint(flags[p[0]]) | uint(flags[p[1]])<<1 | uint(flags[p[2]])<<2 | uint(flags[p[3]])<<3
		if mask != 0 {
			return uint64(p[bits.TrailingZeros(mask)])
		}
		p = p[4:]
	}
	for t := uint64(probeCache + 1); ; t++ {
		if j := m.probe(i, t); flags[j] != 0 {
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
