package store

import (
	"hash/maphash"
	"strconv"
	"sync"

	"github.com/mpwatch/mpwatch/model"
)

// authorCache remembers a hash of the signals last committed for each
// author, so a batch skips the upsert of authors that did not change: most
// replies come from authors seen before, and an unchanged author would
// otherwise cost one statement per batch.
//
// Entries are added only after the transaction that wrote them commits.
// Retention bumps gen inside its transaction, and an add recorded under an
// older gen is dropped, so the cache never claims an author a purge removed.
// A missing entry only costs a redundant upsert.
type authorCache struct {
	mu   sync.Mutex
	seed maphash.Seed
	gen  uint64
	m    map[authorID]uint64
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
	for _, s := range []string{a.ID, a.Handle, a.Name, a.URL} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	var buf [20]byte
	h.Write(strconv.AppendInt(buf[:0], lastSeen, 10))
	h.WriteByte(0)
	if a.CreatedAt != nil {
		h.Write(strconv.AppendInt(buf[:0], a.CreatedAt.UnixNano(), 10))
	} else {
		h.WriteByte('-')
	}
	for _, n := range []int{a.Followers, a.Following, a.Posts} {
		h.WriteByte(0)
		h.Write(strconv.AppendInt(buf[:0], int64(n), 10))
	}
	h.WriteByte(0)
	h.WriteString(strconv.FormatBool(a.Bot))
	h.WriteString(strconv.FormatBool(a.DefaultAvatar))
	return h.Sum64()
}

// snapshot returns the generation a transaction passes to remember; take it
// inside the transaction, under the write lock.
func (c *authorCache) snapshot() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// unchanged reports whether id was last committed with hash h.
func (c *authorCache) unchanged(id authorID, h uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[id]
	return ok && v == h
}

// remember records committed writes made under generation gen.
func (c *authorCache) remember(gen uint64, ws []authorWrite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m)+len(ws) > authorCacheMax {
		c.m = map[authorID]uint64{}
	}
	for _, w := range ws {
		c.m[w.id] = w.h
	}
}

// invalidate forgets everything; retention calls it inside its transaction.
func (c *authorCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = map[authorID]uint64{}
}
