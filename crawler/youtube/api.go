package youtube

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

type comment struct {
	ID      string `json:"id"`
	Snippet struct {
		ChannelID         string `json:"channelId"`
		VideoID           string `json:"videoId"`
		TextDisplay       string `json:"textDisplay"`
		TextOriginal      string `json:"textOriginal"`
		ParentID          string `json:"parentId"`
		AuthorDisplayName string `json:"authorDisplayName"`
		AuthorChannelURL  string `json:"authorChannelUrl"`
		AuthorChannelID   struct {
			Value string `json:"value"`
		} `json:"authorChannelId"`
		PublishedAt time.Time `json:"publishedAt"`
		UpdatedAt   time.Time `json:"updatedAt"`
	} `json:"snippet"`
}

type thread struct {
	ID      string `json:"id"`
	Snippet struct {
		ChannelID       string  `json:"channelId"`
		VideoID         string  `json:"videoId"`
		TopLevelComment comment `json:"topLevelComment"`
		TotalReplyCount int     `json:"totalReplyCount"`
	} `json:"snippet"`
	Replies *struct {
		Comments []comment `json:"comments"`
	} `json:"replies"`
}

// Thread is one decoded comment thread.
type Thread struct {
	ID      string
	VideoID string
	// Top is the top-level comment; its PublishedAt orders threads.
	Top model.Reply
	// Replies are the replies the thread carried inline, which the API
	// limits to a subset; TotalReplies says how many there are.
	Replies      []model.Reply
	TotalReplies int
	// Inline is how many replies the thread carried, own ones included, to
	// compare with TotalReplies.
	Inline int
	// Own is true when the watched channel wrote the top-level comment.
	Own bool
	// Owner is the channel the thread is on (the watched channel).
	Owner string
}

// ThreadsPage is one decoded commentThreads.list page.
type ThreadsPage struct {
	Threads       []Thread
	NextPageToken string
}

// Ref says whose replies these are: the target id, the watched account as
// written in the watchlist, and the watched channel id (to leave out the
// channel's own comments; may be empty in per-video mode).
type Ref struct {
	Target  string
	Account string
	Channel string
}

// ParseThreads decodes a commentThreads.list response (part=snippet,replies).
// Comments written by the watched channel (ref.Channel, or the thread's
// channelId when that is empty) are left out of Replies, and Top is kept for
// ordering but flagged Own.
func ParseThreads(body []byte, ref Ref) (ThreadsPage, error) {
	var raw struct {
		Kind          string   `json:"kind"`
		NextPageToken string   `json:"nextPageToken"`
		Items         []thread `json:"items"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return ThreadsPage{}, fmt.Errorf("decode youtube comment threads: %w", err)
	}
	if raw.Kind != "" && raw.Kind != "youtube#commentThreadListResponse" {
		return ThreadsPage{}, fmt.Errorf("decode youtube comment threads: unexpected kind %q", raw.Kind)
	}
	out := ThreadsPage{NextPageToken: raw.NextPageToken}
	for _, it := range raw.Items {
		top := it.Snippet.TopLevelComment
		if top.ID == "" {
			top.ID = it.ID
		}
		video := it.Snippet.VideoID
		if video == "" {
			video = top.Snippet.VideoID
		}
		if top.ID == "" {
			continue
		}
		th := Thread{ID: it.ID, VideoID: video, TotalReplies: it.Snippet.TotalReplyCount,
			Top: toReply(top, video, "", ref)}
		// In per-video mode the watchlist may not name the channel; the
		// thread's channelId is the video owner's channel.
		owner := ref.Channel
		if owner == "" {
			owner = it.Snippet.ChannelID
		}
		th.Owner = owner
		th.Own = owner != "" && top.Snippet.AuthorChannelID.Value == owner
		if it.Replies != nil {
			th.Inline = len(it.Replies.Comments)
			for _, c := range it.Replies.Comments {
				if c.ID == "" || (owner != "" && c.Snippet.AuthorChannelID.Value == owner) {
					continue
				}
				th.Replies = append(th.Replies, toReply(c, video, top.ID, ref))
			}
		}
		out.Threads = append(out.Threads, th)
	}
	return out, nil
}

// RepliesPage is one decoded comments.list?parentId= page.
type RepliesPage struct {
	Replies       []model.Reply
	NextPageToken string
}

// ParseReplies decodes a comments.list response for one thread's replies.
// comments.list does not say which video the replies are under, so video
// comes from the thread.
func ParseReplies(body []byte, video, parent string, ref Ref) (RepliesPage, error) {
	var raw struct {
		Kind          string    `json:"kind"`
		NextPageToken string    `json:"nextPageToken"`
		Items         []comment `json:"items"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return RepliesPage{}, fmt.Errorf("decode youtube comments: %w", err)
	}
	if raw.Kind != "" && raw.Kind != "youtube#commentListResponse" {
		return RepliesPage{}, fmt.Errorf("decode youtube comments: unexpected kind %q", raw.Kind)
	}
	out := RepliesPage{NextPageToken: raw.NextPageToken}
	for _, c := range raw.Items {
		if c.ID == "" || (ref.Channel != "" && c.Snippet.AuthorChannelID.Value == ref.Channel) {
			continue
		}
		out.Replies = append(out.Replies, toReply(c, video, parent, ref))
	}
	return out, nil
}

func toReply(c comment, video, parent string, ref Ref) model.Reply {
	sn := c.Snippet
	if sn.VideoID != "" {
		video = sn.VideoID
	}
	if sn.ParentID != "" {
		parent = sn.ParentID
	}
	if parent == "" {
		parent = video // a top-level comment answers the video itself
	}
	text := sn.TextOriginal
	if text == "" {
		// textOriginal is only returned to the comment's author or when
		// textFormat=plainText; textDisplay may carry HTML entities.
		text = sn.TextDisplay
	}
	r := model.Reply{
		Platform:  model.YouTube,
		ID:        c.ID,
		URL:       commentURL(video, c.ID),
		Kind:      model.KindReply,
		Target:    ref.Target,
		Account:   ref.Account,
		PostID:    video,
		ParentID:  parent,
		CreatedAt: sn.PublishedAt.UTC(),
		Text:      strings.TrimSpace(text),
		Author: model.Author{
			ID:   sn.AuthorChannelID.Value,
			Name: sn.AuthorDisplayName,
			URL:  sn.AuthorChannelURL,
		},
	}
	if strings.HasPrefix(sn.AuthorDisplayName, "@") {
		r.Author.Handle = sn.AuthorDisplayName
	}
	return r
}

// commentURL links to a comment highlighted under its video.
func commentURL(video, id string) string {
	if video == "" {
		return ""
	}
	return "https://www.youtube.com/watch?v=" + url.QueryEscape(video) + "&lc=" + url.QueryEscape(id)
}
