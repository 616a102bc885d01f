package text

import (
	"math"
)

// LSH is a banded locality-sensitive index over MinHash signatures: the
// signature is cut into Bands bands of Rows values, and two items are
// candidates when any band agrees exactly. Items have dense int32 ids chosen
// by the caller (slots it reuses), so per-item state is flat arrays, and an
// item can be removed when the window slides past it.
//
// Each band of each item is one entry in a doubly linked chain hanging from
// a power-of-two table of heads indexed by the bucket key's low bits (keys
// are hashes already), so Remove is O(bands) and nothing needs compaction.
// A chain may mix keys that share a table slot; walks compare the key. The
// table, not a Go map, holds the heads: a map cost about 20 bytes and a
// hash per bucket, and most buckets hold one entry. An entry keeps its key
// and links side by side, and a query counts its candidates' shared bands
// in a small table of its own, so a walk touches one cache line per entry.
type LSH struct {
	bands, rows int
	heads       []int32    // table slot -> first entry (id*bands+band), -1 = none
	ents        []lshEntry // per entry
	items       []lshItem  // per id
	n           int
	maxChain    int
	walker      LSHWalker // Candidates' scratch
	found       []int32   // Candidates' scratch: matching entries in walk order
	// hit is the last query's candidates and their shared bands, an open
	// addressed table by id (slots in used). Marking candidates in the
	// per-id items, as before, cost a cache miss per entry walked: the
	// table is as small as one query's candidates and stays in cache.
	hit  []lshHit
	used []int32
}

type lshWalk struct {
	e      int32  // next entry
	key    uint32 // the key walked for
	walked int32  // matches so far
}

type lshHit struct {
	id   int32 // -1 = empty
	hits int32
}

type lshEntry struct {
	key        uint32
	next, prev int32 // chain links, -1 at the ends
}

type lshItem struct {
	live bool
}

// lshMinTable is the initial number of table slots.
const lshMinTable = 1024

// NewLSH returns an empty index for signatures of bands*rows values.
func NewLSH(bands, rows int) *LSH {
	if bands < 1 || rows < 1 {
		panic("text: lsh bands and rows must be positive")
	}
	l := &LSH{bands: bands, rows: rows, heads: make([]int32, lshMinTable)}
	for i := range l.heads {
		l.heads[i] = -1
	}
	return l
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
	if int(id) < len(l.items) && l.items[id].live {
		l.Remove(id)
	}
	if n := int(id) + 1; n > len(l.items) {
		l.extend(n)
	}
	if (l.n+1)*l.bands > 2*len(l.heads) {
		l.grow()
	}
	mask := uint32(len(l.heads) - 1)
	base := int32(int(id) * l.bands)
	for b, k := range keys {
		l.push(base+int32(b), k, mask)
	}
	l.items[id].live = true
	l.n++
}

// AddBatch indexes ids[i] under keys[i] for every i, as calling Add for
// each in order does, growing the table at most once.
//
// It used to share the chains among goroutines, each taking the table
// slots of one residue. That nearly doubled its CPU (1.46 s against
// 0.74 s in the 1M-reply rules benchmark): an item's entries sit side by
// side, so both goroutines wrote to every one of its cache lines. With the rules running side by
// side the cores are busy anyway, and CPU is what counts.
func (l *LSH) AddBatch(ids []int32, keys [][]uint32) {
	for i, id := range ids {
		if len(keys[i]) != l.bands {
			panic("text: lsh add with wrong number of band keys")
		}
		if int(id) < len(l.items) && l.items[id].live {
			l.Remove(id)
		}
		if n := int(id) + 1; n > len(l.items) {
			l.extend(n)
		}
	}
	for (l.n+len(ids))*l.bands > 2*len(l.heads) {
		l.grow()
	}
	mask := uint32(len(l.heads) - 1)
	for i, id := range ids {
		base := int32(int(id) * l.bands)
		for b, k := range keys[i] {
			l.push(base+int32(b), k, mask)
		}
		l.items[id].live = true
	}
	l.n += len(ids)
}

// extend makes room for ids below n. The arrays grow by a quarter, not
// by append's doubling: they are most of the index's memory, ids are
// slots the caller reuses, so a window that has stopped growing would
// otherwise carry up to twice what it uses. New entries are left zero:
// push writes an entry whole before linking it, and nothing reads the
// entries of an id that is not live.
//
// (Entries kept in fixed chunks, so that growing copies nothing, saved
// the copies, 0.45 s of CPU in the 1M-reply rules benchmark, but the
// walk's extra load per entry made BenchmarkLSHCandidates 16% slower,
// more than that on the largest cost of all.)
func (l *LSH) extend(n int) {
	if n > cap(l.items) {
		c := max(n, len(l.items)+len(l.items)/4, 64)
		items := make([]lshItem, len(l.items), c)
		copy(items, l.items)
		ents := make([]lshEntry, len(l.ents), c*l.bands)
		copy(ents, l.ents)
		l.items, l.ents = items, ents
	}
	l.items = l.items[:n]
	l.ents = l.ents[:n*l.bands]
}

// push puts entry e with key k at the front of its chain.
func (l *LSH) push(e int32, k uint32, mask uint32) {
	h := &l.heads[k&mask]
	l.ents[e] = lshEntry{key: k, next: *h, prev: -1}
	if *h >= 0 {
		l.ents[*h].prev = e
	}
	*h = e
}

// grow doubles the table (keeping a load of at most two entries per slot:
// a walk passes a few entries of other keys, while a load of one made the
// table a tenth of the detector's memory for no measurable speed). The
// entries of old slot i go to new slots i and i+old: each chain is walked
// once, newest first, and its entries appended to the end of their new
// chain, so each chain stays newest first and every entry is read and
// written once.
//
// As in Matches, a chain is a series of dependent cache misses, so
// lshGrowLanes chains are split side by side, one entry of each in turn.
// BenchmarkLSHGrow, a table of 2M slots holding 3.9M entries: 435 ms
// collecting each chain and pushing it back oldest first, one chain at a
// time, as before; 366 ms in one pass per chain; 240 ms with 32 chains
// side by side (8 and 16: about 255 ms).
func (l *LSH) grow() {
	old := l.heads
	size := len(old)
	l.heads = make([]int32, 2*size)
	high := uint32(size)
	// A lane splits one old chain: its next entry, and the first and last
	// entries of the two new chains, [0] for slot i and [1] for i+size.
	type lane struct {
		slot, e    int32
		head, tail [2]int32
	}
	var lanes [lshGrowLanes]lane
	next := 0 // next old slot to start
	n := 0    // lanes in use
	for {
		for n < len(lanes) && next < size {
			lanes[n] = lane{slot: int32(next), e: old[next], head: [2]int32{-1, -1}, tail: [2]int32{-1, -1}}
			next++
			n++
		}
		if n == 0 {
			return
		}
		k := 0
		for _, ln := range lanes[:n] {
			if ln.e < 0 {
				l.heads[ln.slot], l.heads[int(ln.slot)+size] = ln.head[0], ln.head[1]
				continue
			}
			e := ln.e
			en := &l.ents[e]
			ln.e = en.next
			side := (en.key & high) / high // 0 or 1
			en.next, en.prev = -1, ln.tail[side]
			if t := ln.tail[side]; t >= 0 {
				l.ents[t].next = e
			} else {
				ln.head[side] = e
			}
			ln.tail[side] = e
			lanes[k] = ln
			k++
		}
		n = k
	}
}

// lshGrowLanes is how many chains grow splits side by side.
const lshGrowLanes = 32

// Remove takes id out of the index; removing an absent id does nothing.
func (l *LSH) Remove(id int32) {
	if int(id) >= len(l.items) || !l.items[id].live {
		return
	}
	mask := uint32(len(l.heads) - 1)
	base := int32(int(id) * l.bands)
	for b := int32(0); b < int32(l.bands); b++ {
		e := base + b
		en := &l.ents[e]
		if en.prev >= 0 {
			l.ents[en.prev].next = en.next
		} else {
			l.heads[en.key&mask] = en.next
		}
		if en.next >= 0 {
			l.ents[en.next].prev = en.prev
		}
		en.next, en.prev = -1, -1
	}
	l.items[id].live = false
	l.n--
}

// Hits is how many bands id shared with the keys of the last Candidates
// call (0 when that call did not return it): more shared bands means a
// likelier near-copy.
func (l *LSH) Hits(id int32) int {
	if len(l.hit) == 0 {
		return 0
	}
	mask := uint32(len(l.hit) - 1)
	for i := lshHitSlot(id, mask); ; i = (i + 1) & mask {
		h := l.hit[i]
		if h.id == id {
			return int(h.hits)
		}
		if h.id < 0 {
			return 0
		}
	}
}

func lshHitSlot(id int32, mask uint32) uint32 {
	return (uint32(id) * 0x9E3779B1 >> 7) & mask
}

// mark counts a band shared by id in the hit table and reports whether id
// is new to this query.
func (l *LSH) mark(id int32) bool {
	if 2*(len(l.used)+1) > len(l.hit) {
		l.growHits()
	}
	mask := uint32(len(l.hit) - 1)
	for i := lshHitSlot(id, mask); ; i = (i + 1) & mask {
		h := &l.hit[i]
		if h.id == id {
			h.hits++
			return false
		}
		if h.id < 0 {
			*h = lshHit{id: id, hits: 1}
			l.used = append(l.used, int32(i))
			return true
		}
	}
}

// growHits doubles the hit table, keeping its contents.
func (l *LSH) growHits() {
	old := l.hit
	l.hit = make([]lshHit, max(2*len(old), 256))
	for i := range l.hit {
		l.hit[i].id = -1
	}
	mask := uint32(len(l.hit) - 1)
	used := l.used[:0]
	for _, u := range l.used {
		h := old[u]
		i := lshHitSlot(h.id, mask)
		for l.hit[i].id >= 0 {
			i = (i + 1) & mask
		}
		l.hit[i] = h
		used = append(used, int32(i))
	}
	l.used = used
}

// Keys appends to dst[:0] the band keys id was added with (none when
// absent).
func (l *LSH) Keys(id int32, dst []uint32) []uint32 {
	dst = dst[:0]
	if int(id) >= len(l.items) || !l.items[id].live {
		return dst
	}
	for e := int32(int(id) * l.bands); e < int32((int(id)+1)*l.bands); e++ {
		dst = append(dst, l.ents[e].key)
	}
	return dst
}

// Candidates appends to dst[:0] the ids sharing at least one band key with
// keys, each once, in no particular order, and counts their shared bands
// for Hits. Not safe for concurrent use.
func (l *LSH) Candidates(keys []uint32, dst []int32) []int32 {
	dst = dst[:0]
	for _, u := range l.used {
		l.hit[u].id = -1
	}
	l.used = l.used[:0]
	l.found = l.Matches(&l.walker, keys, l.found[:0])
	bands := int32(l.bands)
	for _, e := range l.found {
		if id := e / bands; l.mark(id) {
			dst = append(dst, id)
		}
	}
	return dst
}

// LSHWalker is one goroutine's scratch for Matches.
type LSHWalker struct {
	act []lshWalk
}

// Matches appends to dst the entries whose key in some band equals that
// band's key in keys, as id*Bands()+band: per band at most the SetMaxChain
// newest, newest first, the bands' matches interleaved. It only reads the
// index, so several goroutines, each with its own walker, may call it at
// once while nothing adds or removes.
//
// The bands' chains are walked side by side, one entry of each in turn:
// an entry's successor is known only once the entry is read, so a single
// chain is a series of cache misses one after another, while the next
// entries of twenty chains can be fetched together. The walk only records
// the matching entries, and they are counted after it: the fewer
// instructions between two loads, the more loads the processor keeps in
// flight; for the same reason a chain that has ended leaves the list of
// chains walked (together a quarter faster in BenchmarkLSHCandidates).
// Each walk carries its band's key, which saved a load and a bounds check
// per entry: 7% faster there (8.85 against 9.56 µs a query, alternating
// runs). A walk without branches, counting matches and live chains with
// conditional moves, was 35% slower: the processor no longer ran ahead
// past the comparisons to issue the next loads.
func (l *LSH) Matches(w *LSHWalker, keys []uint32, dst []int32) []int32 {
	if len(keys) > l.bands {
		panic("text: lsh query with more band keys than bands")
	}
	mask := uint32(len(l.heads) - 1)
	// The chains still being walked, in band order; a chain that ends
	// leaves the list, so later rounds of the crowded ones do not pass it.
	act := w.act[:0]
	for _, k := range keys {
		if h := l.heads[k&mask]; h >= 0 {
			act = append(act, lshWalk{e: h, key: k})
		}
	}
	for len(act) > 0 {
		n := 0
		for _, wk := range act {
			en := &l.ents[wk.e]
			next := en.next
			if en.key == wk.key {
				dst = append(dst, wk.e)
				// A chain that has given its last match leaves now: walking
				// on to meet one more match, as before, read about one
				// more entry per crowded bucket for nothing.
				if wk.walked++; int(wk.walked) == l.maxChain {
					continue
				}
			}
			if next >= 0 {
				wk.e = next
				act[n] = wk
				n++
			}
		}
		act = act[:n]
	}
	w.act = act
	return dst
}

// buckets counts the table slots holding a chain (for tests).
func (l *LSH) buckets() int {
	n := 0
	for _, h := range l.heads {
		if h >= 0 {
			n++
		}
	}
	return n
}
