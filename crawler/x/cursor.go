package x

import (
	"encoding/json"
	"fmt"
	"time"
)

// cursor is the source's opaque crawl state. The user id is kept so the
// lookup (a billed user read) happens once; the budget counter lives here so
// it survives restarts together with the data it paid for.
type cursor struct {
	UserID   string `json:"user_id,omitempty"`
	Username string `json:"username,omitempty"`
	// NewestID is the timeline's newest_id: the next timeline call asks only
	// for posts after it.
	NewestID string `json:"newest_id,omitempty"`
	// Posts are the watched posts still inside the window, by id (which is
	// also the conversation id), with the since_id for their next search.
	Posts map[string]convMark `json:"posts,omitempty"`
	// Day is the UTC date Reads counts for.
	Day   string `json:"day,omitempty"`
	Reads int    `json:"reads,omitempty"`
}

type convMark struct {
	Created time.Time `json:"created"`
	SinceID string    `json:"since_id,omitempty"`
}

func decodeCursor(s string) (cursor, error) {
	c := cursor{Posts: map[string]convMark{}}
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return cursor{Posts: map[string]convMark{}}, fmt.Errorf("decode x cursor: %w", err)
	}
	if c.Posts == nil {
		c.Posts = map[string]convMark{}
	}
	return c, nil
}

func (c *cursor) encode(oldest time.Time) string {
	for id, m := range c.Posts {
		if m.Created.Before(oldest) {
			delete(c.Posts, id)
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// spend counts n billed post reads on the UTC day of now.
func (c *cursor) spend(now time.Time, n int) {
	c.rollDay(now)
	c.Reads += n
}

// readsToday is the number of reads already billed on now's UTC day.
func (c *cursor) readsToday(now time.Time) int {
	c.rollDay(now)
	return c.Reads
}

func (c *cursor) rollDay(now time.Time) {
	day := now.UTC().Format(time.DateOnly)
	if c.Day != day {
		c.Day, c.Reads = day, 0
	}
}
