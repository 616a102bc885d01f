package youtube

import (
	"encoding/json"
	"fmt"
	"time"
)

// cursor is the source's opaque crawl state.
type cursor struct {
	// Newest is, per scope ("channel:<id>" or "video:<id>"), the publishedAt
	// of the newest comment seen; threads come newest first, so the next
	// crawl stops paging once it passes it.
	Newest map[string]time.Time `json:"newest,omitempty"`
	// Disabled records when a video was found with comments turned off; it is
	// asked again a day later, since owners turn comments back on.
	Disabled map[string]time.Time `json:"disabled,omitempty"`
	// QuotaUntil is when the project's exhausted daily quota comes back;
	// until then the source makes no calls at all.
	QuotaUntil time.Time `json:"quota_until,omitzero"`
}

func decodeCursor(s string) (cursor, error) {
	c := cursor{Newest: map[string]time.Time{}, Disabled: map[string]time.Time{}}
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return cursor{Newest: map[string]time.Time{}, Disabled: map[string]time.Time{}}, fmt.Errorf("decode youtube cursor: %w", err)
	}
	if c.Newest == nil {
		c.Newest = map[string]time.Time{}
	}
	if c.Disabled == nil {
		c.Disabled = map[string]time.Time{}
	}
	return c, nil
}

// encode keeps only the scopes still configured, so removing a video from
// the watchlist also drops its state.
func (c cursor) encode(scopes map[string]bool) string {
	for k := range c.Newest {
		if !scopes[k] {
			delete(c.Newest, k)
		}
	}
	for k := range c.Disabled {
		if !scopes[k] {
			delete(c.Disabled, k)
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}
