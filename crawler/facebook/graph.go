package facebook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// graphTimeLayout is how the Graph API writes created_time: ISO 8601 with a
// numeric offset and no colon ("2026-11-28T09:15:02+0000"), which RFC 3339
// parsing rejects.
const graphTimeLayout = "2006-01-02T15:04:05-0700"

// graphTime accepts the Graph layout and, for robustness, RFC 3339.
type graphTime struct{ time.Time }

func (t *graphTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("created_time: %w", err)
	}
	if s == "" {
		return nil
	}
	v, err := time.Parse(graphTimeLayout, s)
	if err != nil {
		v, err = time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("created_time %q: not a Graph API time", s)
		}
	}
	t.Time = v.UTC()
	return nil
}

// paging is the cursor block every Graph edge returns. next is a complete URL
// (including the access_token the request carried) and is absent on the last page.
type paging struct {
	Cursors struct {
		Before string `json:"before"`
		After  string `json:"after"`
	} `json:"cursors"`
	Next     string `json:"next"`
	Previous string `json:"previous"`
}

type graphUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type graphPost struct {
	ID           string    `json:"id"`
	Message      string    `json:"message"`
	CreatedTime  graphTime `json:"created_time"`
	PermalinkURL string    `json:"permalink_url"`
	Comments     *struct {
		Summary struct {
			TotalCount int `json:"total_count"`
		} `json:"summary"`
	} `json:"comments"`
}

type graphComment struct {
	ID           string     `json:"id"`
	Message      string     `json:"message"`
	CreatedTime  graphTime  `json:"created_time"`
	From         *graphUser `json:"from"`
	PermalinkURL string     `json:"permalink_url"`
	Parent       *struct {
		ID string `json:"id"`
	} `json:"parent"`
}

// PostsPage is one decoded page of /{page-id}/posts.
type PostsPage struct {
	Posts []model.Post
	// Next is the paging.next URL as Graph returned it (it embeds the access
	// token, so it must go through redactURL before appearing anywhere).
	Next string
}

// CommentsPage is one decoded page of /{post-id}/comments?filter=stream.
type CommentsPage struct {
	Replies []model.Reply
	// Oldest is the created_time of the oldest comment on the page,
	// including comments skipped because the page itself wrote them, so the
	// caller can stop paging once it reaches what it has already seen.
	Oldest time.Time
	// Newest is the created_time of the newest comment on the page, own
	// comments included.
	Newest time.Time
	Next   string
}

// ParsePosts decodes a /{page-id}/posts response. target and account are the
// watched target id and page id written into each post.
func ParsePosts(body []byte, target, account string) (PostsPage, error) {
	var raw struct {
		Data   []graphPost `json:"data"`
		Paging paging      `json:"paging"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return PostsPage{}, fmt.Errorf("decode graph posts: %w", err)
	}
	out := PostsPage{Next: raw.Paging.Next}
	for _, p := range raw.Data {
		if p.ID == "" {
			continue
		}
		post := model.Post{
			Platform:  model.Facebook,
			ID:        p.ID,
			URL:       p.PermalinkURL,
			Target:    target,
			Account:   account,
			CreatedAt: p.CreatedTime.Time,
			Text:      p.Message,
		}
		if p.Comments != nil {
			post.ReplyCount = p.Comments.Summary.TotalCount
		}
		out.Posts = append(out.Posts, post)
	}
	return out, nil
}

// ParseComments decodes a /{post-id}/comments?filter=stream response into
// replies under post. Comments written by the page itself (from.id equal to
// the page id) are not replies to it and are left out.
//
// Since Graph v11 an app using Page Public Content Access instead of a Page
// token gets neither the comment id nor from; a comment without an id cannot
// be stored idempotently and is skipped, and a comment without from keeps an
// empty Author.
func ParseComments(body []byte, post model.Post) (CommentsPage, error) {
	var raw struct {
		Data   []graphComment `json:"data"`
		Paging paging         `json:"paging"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return CommentsPage{}, fmt.Errorf("decode graph comments: %w", err)
	}
	out := CommentsPage{Next: raw.Paging.Next}
	for _, c := range raw.Data {
		if t := c.CreatedTime.Time; !t.IsZero() {
			if out.Oldest.IsZero() || t.Before(out.Oldest) {
				out.Oldest = t
			}
			if t.After(out.Newest) {
				out.Newest = t
			}
		}
		if c.ID == "" {
			continue
		}
		if c.From != nil && c.From.ID != "" && c.From.ID == post.Account {
			continue
		}
		r := model.Reply{
			Platform:  model.Facebook,
			ID:        c.ID,
			URL:       c.PermalinkURL,
			Kind:      model.KindReply,
			Target:    post.Target,
			Account:   post.Account,
			PostID:    post.ID,
			ParentID:  post.ID,
			CreatedAt: c.CreatedTime.Time,
			Text:      strings.TrimSpace(c.Message),
		}
		if c.Parent != nil && c.Parent.ID != "" {
			r.ParentID = c.Parent.ID
		}
		if c.From != nil {
			r.Author = model.Author{ID: c.From.ID, Name: c.From.Name}
		}
		out.Replies = append(out.Replies, r)
	}
	return out, nil
}
