package rules

import (
	"fmt"
	"testing"
)

// TestNameTable interns short and long names, some under the same hash,
// and checks each gets one stable index and its own name back, also after
// the table is emptied and filled again.
func TestNameTable(t *testing.T) {
	var tab nameTable
	var names []string
	idx := map[string]uint32{}
	name := func(i int) string {
		if i%3 == 0 {
			return fmt.Sprintf("https://example.org/a/rather/long/target/name/%d", i)
		}
		return fmt.Sprintf("mp-%03d", i)
	}
	for round := 0; round < 3; round++ {
		if round == 2 {
			// emptied and filled again, as coordination's compaction does
			tab.reset(len(names))
			names, idx = names[:0], map[string]uint32{}
		}
		for i := 0; i < 500; i++ {
			s := name(i)
			h := uint32(i % 7) // crowded: many names per hash
			v, ok := nameGet(&tab, h, s, names)
			if want, seen := idx[s]; seen != ok || ok && v != want {
				t.Fatalf("round %d: get(%q) = %d, %v; want %d, %v", round, s, v, ok, want, seen)
			}
			if !ok {
				v = uint32(len(names))
				names = append(names, s)
				tab.put(h, s, v)
				idx[s] = v
			}
			if names[v] != s {
				t.Fatalf("index %d names %q, want %q", v, names[v], s)
			}
		}
	}
	if _, ok := nameGet(&tab, 3, "mp-003x", names); ok {
		t.Error("found a name never put")
	}
}

// A name built in a buffer is looked up without allocating, however long.
func TestNameGetBytesDoesNotAllocate(t *testing.T) {
	var tab nameTable
	long := "mastodon:someone.with.a.long.handle@social.example.org"
	names := []string{long}
	tab.put(nameHash(long), long, 0)
	buf := []byte(long)
	if nameHashBytes(buf) != nameHash(long) {
		t.Fatal("nameHashBytes and nameHash differ")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if v, ok := nameGet(&tab, nameHashBytes(buf), buf, names); !ok || v != 0 {
			t.Fatal("not found")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per lookup", allocs)
	}
}
