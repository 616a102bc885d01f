package text

import "math"

// LSH is a banded locality-sensitive index over MinHash signatures: the
// signature is cut into Bands bands of Rows values, and two items are
// candidates when any band agrees exactly. Items have dense int32 ids chosen
// by the caller (slots it reuses), so per-item state is flat arrays, and an
// item can be removed when the window slides past it.
//
// Each band of each item is one entry in a doubly linked bucket chain, so
// Remove is O(bands) and nothing needs compaction.
type LSH struct {
	bands, rows int
	heads       map[uint32]int32 // bucket key -> first entry (id*bands+band)
	keys        []uint32         // per entry: its bucket key
	next, prev  []int32          // per entry: chain links, -1 at the ends
	live        []bool           // per id
	seen        []uint32         // per id: query epoch that last returned it
	hits        []uint8          // per id: bands it shared in that query
	epoch       uint32
	n           int
	maxChain    int
}

// NewLSH returns an empty index for signatures of bands*rows values.
func NewLSH(bands, rows int) *LSH {
	if bands < 1 || rows < 1 {
		panic("text: lsh bands and rows must be positive")
	}
	return &LSH{bands: bands, rows: rows, heads: make(map[uint32]int32)}
}

// Bands and Rows describe the banding; SigLen is their product.
func (l *LSH) Bands() int  { return l.bands }
func (l *LSH) Rows() int   { return l.rows }
func (l *LSH) SigLen() int { return l.bands * l.rows }

// SetMaxChain bounds how many entries of one bucket Candidates returns,
// newest first (0 = all). A campaign of thousands of near-copies fills the
// same buckets; walking them all for every new copy makes indexing
// quadratic, while the newest few are enough to join the new copy to its
// cluster.
func (l *LSH) SetMaxChain(n int) { l.maxChain = n }

// Len is the number of items indexed.
func (l *LSH) Len() int { return l.n }

// Threshold is the Jaccard similarity at which a pair becomes a candidate
// with probability about one half: (1/b)^(1/r).
func (l *LSH) Threshold() float64 {
	return math.Pow(1/float64(l.bands), 1/float64(l.rows))
}

// CandidateProbability is 1-(1-J^r)^b, the chance that a pair of items with
// Jaccard similarity j shares at least one band.
func (l *LSH) CandidateProbability(j float64) float64 {
	return 1 - math.Pow(1-math.Pow(j, float64(l.rows)), float64(l.bands))
}

// BandKeys appends one bucket key per band of sig to dst[:0]. The band number
// is hashed in, so equal rows in different bands are different buckets.
func (l *LSH) BandKeys(sig []uint32, dst []uint32) []uint32 {
	if len(sig) != l.bands*l.rows {
		panic("text: signature length does not match the lsh banding")
	}
	dst = dst[:0]
	for b := 0; b < l.bands; b++ {
		h := uint64(b+1) * 0xD6E8FEB86659FD93
		for _, v := range sig[b*l.rows : (b+1)*l.rows] {
			h = mix64(h ^ uint64(v))
		}
		dst = append(dst, uint32(h^h>>32))
	}
	return dst
}

// Add indexes id under its band keys (from BandKeys). Adding a live id
// replaces it.
func (l *LSH) Add(id int32, keys []uint32) {
	if len(keys) != l.bands {
		panic("text: lsh add with wrong number of band keys")
	}
	if int(id) < len(l.live) && l.live[id] {
		l.Remove(id)
	}
	for int(id) >= len(l.live) {
		l.live = append(l.live, false)
		l.seen = append(l.seen, 0)
		l.hits = append(l.hits, 0)
		for b := 0; b < l.bands; b++ {
			l.keys = append(l.keys, 0)
			l.next = append(l.next, -1)
			l.prev = append(l.prev, -1)
		}
	}
	base := int32(int(id) * l.bands)
	for b, k := range keys {
		e := base + int32(b)
		l.keys[e] = k
		l.prev[e] = -1
		if h, ok := l.heads[k]; ok {
			l.next[e] = h
			l.prev[h] = e
		} else {
			l.next[e] = -1
		}
		l.heads[k] = e
	}
	l.live[id] = true
	l.n++
}

// Remove takes id out of the index; removing an absent id does nothing.
func (l *LSH) Remove(id int32) {
	if int(id) >= len(l.live) || !l.live[id] {
		return
	}
	base := int32(int(id) * l.bands)
	for b := int32(0); b < int32(l.bands); b++ {
		e := base + b
		p, nx := l.prev[e], l.next[e]
		if p >= 0 {
			l.next[p] = nx
		} else if nx >= 0 {
			l.heads[l.keys[e]] = nx
		} else {
			delete(l.heads, l.keys[e])
		}
		if nx >= 0 {
			l.prev[nx] = p
		}
		l.next[e], l.prev[e] = -1, -1
	}
	l.live[id] = false
	l.n--
}

// Hits is how many bands id shared with the keys of the last Candidates
// call that returned it: more shared bands means a likelier near-copy.
func (l *LSH) Hits(id int32) int { return int(l.hits[id]) }

// Keys returns the band keys id was added with (nil when absent); the slice
// aliases the index.
func (l *LSH) Keys(id int32) []uint32 {
	if int(id) >= len(l.live) || !l.live[id] {
		return nil
	}
	return l.keys[int(id)*l.bands : (int(id)+1)*l.bands]
}

// Candidates appends to dst[:0] the ids sharing at least one band key with
// keys, each once, in no particular order. Not safe for concurrent use.
func (l *LSH) Candidates(keys []uint32, dst []int32) []int32 {
	dst = dst[:0]
	l.epoch++
	if l.epoch == 0 { // wrapped: forget old marks
		clear(l.seen)
		l.epoch = 1
	}
	for _, k := range keys {
		e, ok := l.heads[k]
		if !ok {
			continue
		}
		walked := 0
		for ; e >= 0; e = l.next[e] {
			if l.maxChain > 0 && walked == l.maxChain {
				break
			}
			walked++
			id := e / int32(l.bands)
			if l.seen[id] == l.epoch {
				if l.hits[id] < 255 {
					l.hits[id]++
				}
				continue
			}
			l.seen[id] = l.epoch
			l.hits[id] = 1
			dst = append(dst, id)
		}
	}
	return dst
}
