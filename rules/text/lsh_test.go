package text

import (
	"slices"
	"testing"
)

// AddBatch must leave the index as adding the same items one by one does:
// every chain in the same order, through table growth, with crowded
// buckets, on several goroutines.
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
		batched.AddBatch(ids, keys, 2)
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
