package x

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

type tweet struct {
	ID               string    `json:"id"`
	Text             string    `json:"text"`
	AuthorID         string    `json:"author_id"`
	CreatedAt        time.Time `json:"created_at"`
	ConversationID   string    `json:"conversation_id"`
	InReplyToUserID  string    `json:"in_reply_to_user_id"`
	Lang             string    `json:"lang"`
	ReferencedTweets []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"referenced_tweets"`
	PublicMetrics struct {
		ReplyCount int `json:"reply_count"`
	} `json:"public_metrics"`
}

type user struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Username        string    `json:"username"`
	CreatedAt       time.Time `json:"created_at"`
	ProfileImageURL string    `json:"profile_image_url"`
	PublicMetrics   struct {
		FollowersCount int `json:"followers_count"`
		FollowingCount int `json:"following_count"`
		TweetCount     int `json:"tweet_count"`
	} `json:"public_metrics"`
}

type meta struct {
	ResultCount int    `json:"result_count"`
	NewestID    string `json:"newest_id"`
	OldestID    string `json:"oldest_id"`
	NextToken   string `json:"next_token"`
}

// partialError is an entry of the "errors" array X returns next to (or
// instead of) data, e.g. a username that does not exist.
type partialError struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Value  string `json:"value"`
	// v1.1-style entries (429 code 88) carry code and message instead.
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (p partialError) text() string {
	switch {
	case p.Detail != "":
		return p.Detail
	case p.Message != "":
		return p.Message
	}
	return p.Title
}

// Page is one decoded page of a timeline or search response.
type Page struct {
	// Posts are the tweets as watched posts (timeline); Replies the tweets as
	// replies (search). A response fills the one its parser was asked for.
	Posts   []model.Post
	Replies []model.Reply
	// Reads is the number of posts the response returned: what X bills.
	Reads     int
	NewestID  string
	NextToken string
}

// ParseUser decodes GET /2/users/by/username/:username. A username that does
// not exist comes back as 200 with only an errors array.
func ParseUser(body []byte) (id, username string, err error) {
	var raw struct {
		Data *struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"data"`
		Errors []partialError `json:"errors"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return "", "", fmt.Errorf("decode x user: %w", err)
	}
	if raw.Data == nil || raw.Data.ID == "" {
		if len(raw.Errors) > 0 {
			return "", "", fmt.Errorf("%w: %s", errUserNotFound, raw.Errors[0].text())
		}
		return "", "", fmt.Errorf("%w: no data in response", errUserNotFound)
	}
	return raw.Data.ID, raw.Data.Username, nil
}

// ParseTimeline decodes GET /2/users/:id/tweets into watched posts.
func ParseTimeline(body []byte, target, account string) (Page, error) {
	var raw struct {
		Data []tweet `json:"data"`
		Meta meta    `json:"meta"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Page{}, fmt.Errorf("decode x timeline: %w", err)
	}
	p := Page{Reads: len(raw.Data), NewestID: raw.Meta.NewestID, NextToken: raw.Meta.NextToken}
	for _, t := range raw.Data {
		if t.ID == "" {
			continue
		}
		p.Posts = append(p.Posts, model.Post{
			Platform:   model.X,
			ID:         t.ID,
			URL:        statusURL(account, t.ID),
			Target:     target,
			Account:    account,
			CreatedAt:  t.CreatedAt.UTC(),
			Text:       t.Text,
			ReplyCount: t.PublicMetrics.ReplyCount,
		})
	}
	return p, nil
}

// ParseSearch decodes a GET /2/tweets/search/recent?query=conversation_id:…
// page into replies under the watched post. Tweets by the watched account
// itself (selfID, its own thread continuations) are not replies to it.
// Authors come from includes.users (expansions=author_id).
func ParseSearch(body []byte, post model.Post, selfID string) (Page, error) {
	var raw struct {
		Data     []tweet `json:"data"`
		Includes struct {
			Users []user `json:"users"`
		} `json:"includes"`
		Meta meta `json:"meta"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Page{}, fmt.Errorf("decode x search: %w", err)
	}
	users := make(map[string]user, len(raw.Includes.Users))
	for _, u := range raw.Includes.Users {
		users[u.ID] = u
	}
	p := Page{Reads: len(raw.Data), NewestID: raw.Meta.NewestID, NextToken: raw.Meta.NextToken}
	for _, t := range raw.Data {
		if t.ID == "" || t.ID == post.ID || (selfID != "" && t.AuthorID == selfID) {
			continue
		}
		r := model.Reply{
			Platform:  model.X,
			ID:        t.ID,
			Kind:      model.KindReply,
			Target:    post.Target,
			Account:   post.Account,
			PostID:    post.ID,
			ParentID:  post.ID,
			CreatedAt: t.CreatedAt.UTC(),
			Text:      t.Text,
			Lang:      t.Lang,
			Author:    model.Author{ID: t.AuthorID},
		}
		for _, ref := range t.ReferencedTweets {
			if ref.Type == "replied_to" && ref.ID != "" {
				r.ParentID = ref.ID
			}
		}
		if u, ok := users[t.AuthorID]; ok {
			r.Author = author(u)
		}
		r.URL = statusURL(r.Author.Handle, t.ID)
		p.Replies = append(p.Replies, r)
	}
	return p, nil
}

func author(u user) model.Author {
	a := model.Author{
		ID:        u.ID,
		Handle:    u.Username,
		Name:      u.Name,
		Followers: u.PublicMetrics.FollowersCount,
		Following: u.PublicMetrics.FollowingCount,
		Posts:     u.PublicMetrics.TweetCount,
		// X serves the egg/silhouette from a fixed path for accounts that
		// never set a picture.
		DefaultAvatar: strings.Contains(u.ProfileImageURL, "default_profile_images"),
	}
	if u.Username != "" {
		a.URL = "https://x.com/" + u.Username
	}
	if !u.CreatedAt.IsZero() {
		t := u.CreatedAt.UTC()
		a.CreatedAt = &t
	}
	return a
}

// statusURL is the web URL of a post; x.com resolves /i/web/status/ when the
// author's username is unknown.
func statusURL(username, id string) string {
	username = strings.TrimPrefix(username, "@")
	if username == "" {
		return "https://x.com/i/web/status/" + id
	}
	return "https://x.com/" + username + "/status/" + id
}
