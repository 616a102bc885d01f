package rules

import "github.com/cespare/xxhash/v2"

// nameTable finds a name's index in a list of names (targets, platforms,
// accounts) that the detector keeps. A map[string]uint32 spends three
// cache lines a lookup (its control word, the slot, the key's bytes), cold
// between replies when the detector's other tables have been walked in
// between; an entry here holds a short name's bytes, so most lookups read
// one line. (repeated_narrative's two lookups per reply took 0.27 s of CPU
// per million replies in the 1M-reply benchmark with a map.) Names are
// only added; a detector that drops names builds its table again.
type nameTable struct {
	tab []nameEntry // a power of two, at most half full
	n   int
}

type nameEntry struct {
	h   uint32
	ref uint32 // index in names + 1; 0 = empty
	// key holds the name when it fits; longer names are compared with
	// names[ref-1].
	key  [nameInline]byte
	klen uint8
}

// nameInline makes an entry 32 bytes, two to a cache line.
const nameInline = 23

// nameHash is the hash nameGet and put take.
func nameHash(s string) uint32 { return uint32(xxhash.Sum64String(s)) }

// nameHashBytes is nameHash of string(b).
func nameHashBytes(b []byte) uint32 { return uint32(xxhash.Sum64(b)) }

// nameGet returns the index of s (hashed by nameHash) in names. It takes
// bytes as well as strings, so that a name built in a scratch buffer is
// looked up without being copied to the heap as string(buf) would be
// when longer than 32 bytes (a map lookup m[string(buf)] does not copy).
func nameGet[S string | []byte](t *nameTable, h uint32, s S, names []string) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint32(len(t.tab) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &t.tab[i]
		if e.ref == 0 {
			return 0, false
		}
		if e.h != h {
			continue
		}
		if len(s) <= nameInline {
			if int(e.klen) == len(s) && string(e.key[:len(s)]) == string(s) {
				return e.ref - 1, true
			}
		} else if names[e.ref-1] == string(s) {
			return e.ref - 1, true
		}
	}
}

// put adds s (absent, hashed by nameHash) as index v.
func (t *nameTable) put(h uint32, s string, v uint32) {
	if 2*(t.n+1) > len(t.tab) {
		old := t.tab
		t.tab = make([]nameEntry, max(2*len(old), 64))
		t.n = 0
		for i := range old {
			if old[i].ref != 0 {
				t.insert(old[i])
			}
		}
	}
	e := nameEntry{h: h, ref: v + 1, klen: nameInline + 1}
	if len(s) <= nameInline {
		e.klen = uint8(copy(e.key[:], s))
	}
	t.insert(e)
}

func (t *nameTable) insert(e nameEntry) {
	mask := uint32(len(t.tab) - 1)
	i := e.h & mask
	for t.tab[i].ref != 0 {
		i = (i + 1) & mask
	}
	t.tab[i] = e
	t.n++
}

// reset empties the table, keeping its room when it is at most twice what
// names of size n need (a table about to be filled again with as many).
func (t *nameTable) reset(n int) {
	if len(t.tab) <= 4*n {
		clear(t.tab)
	} else {
		t.tab = nil
	}
	t.n = 0
}
