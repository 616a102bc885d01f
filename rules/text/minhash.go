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
	// sequence, which is all short replies usually need.
	probes []uint16
}

const probeCache = 8

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
	nfilled := 0
	for _, x := range set {
		h := mix64(uint64(x) ^ m.seed)
		bin, _ := bits.Mul64(h, uint64(k)) // high word: uniform in [0,k)
		v := uint32(h)
		if filled[bin/64]&(1<<(bin%64)) == 0 {
			filled[bin/64] |= 1 << (bin % 64)
			nfilled++
			dst[bin] = v
		} else if v < dst[bin] {
			dst[bin] = v
		}
	}
	if nfilled == 0 {
		clear(dst)
		return dst
	}
	if nfilled == k {
		return dst
	}
	for i := 0; i < k; i++ {
		if filled[i/64]&(1<<(i%64)) != 0 {
			continue
		}
		for t := uint64(1); ; t++ {
			var j uint64
			if t <= probeCache {
				j = uint64(m.probes[i*probeCache+int(t)-1])
			} else {
				j = m.probe(i, t)
			}
			if filled[j/64]&(1<<(j%64)) != 0 {
				dst[i] = dst[j]
				break
			}
		}
	}
	return dst
}

// mix64 is the splitmix64 finaliser: a bijection that spreads every input
// bit over the output.
func mix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
