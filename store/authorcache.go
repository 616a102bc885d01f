package store

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"sync"

	"github.com/mpwatch/mpwatch/model"
)

// authorCache remembers a hash of the signals (and last_seen day) last
// committed for each author, so a batch skips the upsert of authors that did
// not change: most replies come from authors seen before, and an unchanged
// author would otherwise cost a statement row per batch.
//
// Entries are added only after the transaction that wrote them commits. The
// cache is tied to store_meta.authors_purged, which retention increments in
// the transaction that deletes authors: each save reads it under the write
// lock and drops the cache when it moved, and writes remembered under an
// older value are discarded. So no process trusts an entry for an author
// that any process purged. A missing entry only costs a redundant upsert.
type authorCache struct {
	mu     sync.Mutex
	seed   maphash.Seed
	purged int64 // store_meta.authors_purged the entries are valid for
	m      map[authorID]uint64
}

type authorID struct{ platform, key string }

type authorWrite struct {
	id authorID
	h  uint64
}

// authorCacheMax bounds memory; past it the cache starts over.
const authorCacheMax = 500_000

func newAuthorCache() *authorCache {
	return &authorCache{seed: maphash.MakeSeed(), m: map[authorID]uint64{}}
}

func (c *authorCache) hash(a *model.Author, lastSeen int64) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, s := range [...]string{a.ID, a.Handle, a.Name, a.URL} {
		h.WriteString(s)
		h.WriteByte(0) // "ab","c" and "a","bc" differ
	}
	created := int64(math.MinInt64) // nil
	if a.CreatedAt != nil {
		created = toNanos(*a.CreatedAt)
	}
	var flags uint64
	if a.Bot {
		flags |= 1
	}
	if a.DefaultAvatar {
		flags |= 2
	}
	var buf [48]byte
	for i, v := range [...]uint64{uint64(lastSeen), uint64(created), uint64(a.Followers), uint64(a.Following), uint64(a.Posts), flags} {
		binary.LittleEndian.PutUint64(buf[i*8:], v)
	}
	h.Write(buf[:])
	return h.Sum64()
}

// authorWrites are the authors a transaction wrote, valid for purge
// generation purged.
type authorWrites struct {
	purged int64
	ws     []authorWrite
}

// sync drops the cache if retention purged authors since it was filled;
// call it inside the transaction, with the value read there.
func (c *authorCache) sync(purged int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if purged != c.purged {
		c.purged = purged
		c.m = map[authorID]uint64{}
	}
}

// unchanged reports whether id was last committed with hash h.
func (c *authorCache) unchanged(id authorID, h uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[id]
	return ok && v == h
}

// remember records the writes of a committed transaction.
func (c *authorCache) remember(w authorWrites) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w.purged != c.purged {
		return
	}
	if len(c.m)+len(w.ws) > authorCacheMax {
		c.m = map[authorID]uint64{}
	}
	for _, x := range w.ws {
		c.m[x.id] = x.h
	}
}
