package crawler

import (
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// SetHash is a short fingerprint of a set of ids (order does not matter).
// Sources keep it in their cursor to tell "nothing changed under this post"
// without storing every id they have seen.
func SetHash(ids []string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	h := xxhash.New()
	for _, id := range s {
		_, _ = h.WriteString(id)
		_, _ = h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// IDHash is a short fingerprint of one id, for cursors that keep a bounded
// list of recently seen items (feeds, comment pages).
func IDHash(id string) string {
	return strconv.FormatUint(xxhash.Sum64String(id), 36)
}
