package crawler

import (
	"net/http"
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

// PageCursor is the cursor of page and feed sources (html, rss): validators of the first
// fetch and hashes of recently seen item ids, newest first.
type PageCursor struct {
	ETag         string   `json:"etag,omitempty"`
	LastModified string   `json:"lm,omitempty"`
	Seen         []string `json:"seen,omitempty"`
}

// Conditional returns the headers for a conditional GET.
func (c PageCursor) Conditional() http.Header {
	h := http.Header{}
	if c.ETag != "" {
		h.Set("If-None-Match", c.ETag)
	}
	if c.LastModified != "" {
		h.Set("If-Modified-Since", c.LastModified)
	}
	return h
}

// Next records a fetch's validators and the ids seen (current first, then
// older ones still within max).
func (c PageCursor) Next(resp *Response, ids []string, max int) PageCursor {
	n := PageCursor{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	have := map[string]bool{}
	for _, id := range ids {
		h := IDHash(id)
		if !have[h] {
			have[h] = true
			n.Seen = append(n.Seen, h)
		}
	}
	for _, h := range c.Seen {
		if len(n.Seen) >= max {
			break
		}
		if !have[h] {
			have[h] = true
			n.Seen = append(n.Seen, h)
		}
	}
	return n
}

// SeenSet is the cursor's seen hashes as a set.
func (c PageCursor) SeenSet() map[string]bool {
	m := make(map[string]bool, len(c.Seen))
	for _, h := range c.Seen {
		m[h] = true
	}
	return m
}
