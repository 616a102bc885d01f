package text

import (
	"slices"
	"testing"
)

// AddBatch must leave the index as adding the same items one by one does:
// every chain in the same order, through table growth, with crowded
// buckets.
func TestLSHAddBatchSameAsAdd(t *testing.T) {
	const bands = 12
	next := xorshift(3)
	keysOf := func() []uint32 {
		ks := make([]uint32, bands)
		for b := range ks {
			v := next()
			if v%3 == 0 {
				v = v >> 8 % 10 // crowded buckets
			}
			ks[b] = uint32(mix64(uint64(b+1)<<32 ^ v))
		}
		return ks
	}
	one, batched := NewLSH(bands, 2), NewLSH(bands, 2)
	var all [][]uint32
	next32 := int32(0)
	for _, size := range []int{1, 700, 3, 2000, 500} {
		var ids []int32
		var keys [][]uint32
		for k := range size {
			id := next32
			if size == 3 {
				id = int32(100 + k) // slots freed below, used again
			} else {
				next32++
			}
			ks := keysOf()
			one.Add(id, ks)
			ids = append(ids, id)
			keys = append(keys, ks)
			all = append(all, ks)
		}
		batched.AddBatch(ids, keys)
		if size == 700 {
			for r := int32(100); r < 150; r++ {
				one.Remove(r)
				batched.Remove(r)
			}
		}
	}
	if len(batched.heads) != len(one.heads) || batched.Len() != one.Len() {
		t.Fatalf("table %d slots, %d items; one by one %d, %d", len(batched.heads), batched.Len(), len(one.heads), one.Len())
	}
	if len(batched.heads) <= lshMinTable {
		t.Fatal("the table did not grow: the test does not cover growth")
	}
	var w LSHWalker
	matches := 0
	for q, ks := range all {
		a := one.Matches(&w, ks, nil)
		b := batched.Matches(&w, ks, nil)
		if !slices.Equal(a, b) {
			t.Fatalf("query %d: one by one %v, batched %v", q, a, b)
		}
		matches += len(a)
	}
	if matches < len(all) {
		t.Fatalf("%d matches for %d queries of indexed keys", matches, len(all))
	}
}

// xorshift is a small deterministic generator for the index tests and
// benchmarks (xorshift64, from seed, which must not be 0).
func xorshift(seed uint64) func() uint64 {
	rng := seed
	return func() uint64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
}

// Growing the table must keep every chain's entries and their order
// (newest first) and the back links Remove follows: an index grown from
// the smallest table gives, band by band, the matches of one built at its
// final size, before and after removals.
func TestLSHGrowSameAsFixedTable(t *testing.T) {
	const bands, items = 6, 5000
	next := xorshift(11)
	keys := make([][]uint32, items)
	for i := range keys {
		keys[i] = make([]uint32, bands)
		for b := range keys[i] {
			v := next()
			if v%2 == 0 {
				v = v >> 8 % 50 // crowded buckets: long chains to split
			}
			keys[i][b] = uint32(mix64(uint64(b+1)<<32 ^ v))
		}
	}
	grown, fixed := NewLSH(bands, 2), NewLSH(bands, 2)
	fixed.heads = make([]int32, 1<<16)
	for i := range fixed.heads {
		fixed.heads[i] = -1
	}
	for i, ks := range keys {
		grown.Add(int32(i), ks)
		fixed.Add(int32(i), ks)
	}
	if len(grown.heads) < 8*lshMinTable || len(fixed.heads) != 1<<16 {
		t.Fatalf("tables of %d and %d slots: the test needs one grown several times, one never", len(grown.heads), len(fixed.heads))
	}
	byBand := func(l *LSH, ks []uint32) [bands][]int32 {
		var w LSHWalker
		var out [bands][]int32
		for _, e := range l.Matches(&w, ks, nil) {
			out[e%bands] = append(out[e%bands], e)
		}
		return out
	}
	check := func(when string) {
		total := 0
		for q := 0; q < items; q += 7 {
			a, b := byBand(grown, keys[q]), byBand(fixed, keys[q])
			for band := range a {
				if !slices.Equal(a[band], b[band]) {
					t.Fatalf("%s, query %d band %d: grown %v, built at size %v", when, q, band, a[band], b[band])
				}
				total += len(a[band])
			}
		}
		if total == 0 {
			t.Fatalf("%s: no matches at all", when)
		}
	}
	check("after adding")
	for i := 0; i < items; i += 3 {
		grown.Remove(int32(i))
		fixed.Remove(int32(i))
	}
	check("after removing a third")
}
