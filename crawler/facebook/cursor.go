package facebook

import (
	"encoding/json"
	"fmt"
	"time"
)

// cursor is the source's opaque crawl state: for each watched post still
// inside the lookback window, the created_time of its newest comment seen.
// Comments are read newest first, so the next crawl stops paging once it
// reaches that time.
type cursor struct {
	Posts map[string]postMark `json:"posts,omitempty"`
}

type postMark struct {
	Created time.Time `json:"created"`         // the post's own created_time, to prune by lookback
	Newest  time.Time `json:"newest,omitzero"` // newest comment created_time seen
	Count   int       `json:"count,omitempty"` // comments summary total_count when last read
}

func decodeCursor(s string) (cursor, error) {
	c := cursor{Posts: map[string]postMark{}}
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return cursor{Posts: map[string]postMark{}}, fmt.Errorf("decode facebook cursor: %w", err)
	}
	if c.Posts == nil {
		c.Posts = map[string]postMark{}
	}
	return c, nil
}

// encode drops posts older than oldest so the cursor stays small.
func (c cursor) encode(oldest time.Time) string {
	for id, m := range c.Posts {
		if m.Created.Before(oldest) {
			delete(c.Posts, id)
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}
