// Package rss collects news items that mention a target from RSS 2.0, Atom
// and JSON feeds (mmcdole/gofeed).
//
// An item is kept when its title or text mentions the target's name or one
// of its aliases, in any script: text and names are compared after NFKC,
// case folding and accent removal, Traditional Chinese is folded to
// Simplified (OpenCC t2s) on both sides, and Latin-script names must match
// on word boundaries ("Roe" does not match "Roebuck") while CJK names match
// anywhere. Kept items are stored as kind "mention", with the item link as
// URL and the item's GUID (or link) as id.
//
// Incremental: the feed is fetched conditionally (ETag/Last-Modified) and the
// cursor keeps short hashes of recently seen item ids, so an item is returned
// once. robots.txt is honoured.
package rss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/longbridgeapp/opencc"
	"github.com/mmcdole/gofeed"
	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Options configure the source.
type Options struct {
	// SeenMax bounds the seen-id hashes kept in the cursor (2000).
	SeenMax int
}

// Source is the rss crawler source.
type Source struct {
	c    *crawler.Client
	opts Options
}

var _ crawler.Source = (*Source)(nil)

// New builds the source on the shared client.
func New(c *crawler.Client, opts Options) *Source {
	if opts.SeenMax <= 0 {
		opts.SeenMax = 2000
	}
	return &Source{c: c, opts: opts}
}

// Platform is model.RSS.
func (s *Source) Platform() model.Platform { return model.RSS }

// Crawl reads the feed and returns new items that mention the target.
func (s *Source) Crawl(ctx context.Context, req crawler.Request) (crawler.Result, error) {
	feedURL := req.Account.URL
	if feedURL == "" {
		return crawler.Result{}, fmt.Errorf("rss source for %s needs a feed url", req.Target.ID)
	}
	var cur crawler.PageCursor
	if req.Cursor != "" {
		_ = json.Unmarshal([]byte(req.Cursor), &cur)
	}
	resp, err := s.c.GetPage(ctx, feedURL, cur.Conditional())
	if err != nil {
		return crawler.Result{}, fmt.Errorf("read feed %s: %w", feedURL, err)
	}
	if resp.Status == http.StatusNotModified {
		return crawler.Result{Cursor: req.Cursor}, nil
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(resp.Body))
	if err != nil {
		return crawler.Result{}, &crawler.Error{Kind: crawler.KindBadResponse, URL: resp.URL,
			Msg: "not a readable RSS, Atom or JSON feed", Err: err}
	}
	m := NewMatcher(append([]string{req.Target.Name}, req.Target.Aliases...))
	seen := cur.SeenSet()
	fu, _ := url.Parse(feedURL)
	var res crawler.Result
	var ids []string
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		id := itemID(it, feedURL)
		if id == "" {
			continue
		}
		ids = append(ids, id)
		body := it.Content
		if body == "" {
			body = it.Description
		}
		title := crawler.CleanLine(crawler.HTMLToText(it.Title), 500)
		text := crawler.HTMLToText(body)
		if !m.Match(title + "\n" + text) {
			continue
		}
		if seen[crawler.IDHash(id)] {
			continue
		}
		seen[crawler.IDHash(id)] = true
		r := model.Reply{Platform: model.RSS, ID: id, URL: safeURL(it.Link), Kind: model.KindMention,
			Target: req.Target.ID, Account: feedURL, CreatedAt: itemTime(it, req.Now),
			Text: strings.TrimSpace(title + "\n\n" + text), Lang: feed.Language}
		name := crawler.CleanLine(feed.Title, 200)
		if len(it.Authors) > 0 && it.Authors[0] != nil && it.Authors[0].Name != "" {
			name = crawler.CleanLine(it.Authors[0].Name, 200)
		}
		r.Author = model.Author{ID: fu.Host + ":" + strings.ToLower(name), Handle: name, Name: name, URL: safeURL(feed.Link)}
		res.Replies = append(res.Replies, r)
	}
	b, _ := json.Marshal(cur.Next(resp, ids, s.opts.SeenMax))
	res.Cursor = string(b)
	return res, nil
}

// itemID is the GUID when it is a URL or the link, else the GUID qualified
// with the feed URL (GUIDs like "12345" are unique only within one feed).
func itemID(it *gofeed.Item, feedURL string) string {
	g := strings.TrimSpace(it.GUID)
	switch {
	case strings.Contains(g, "://") || strings.HasPrefix(g, "urn:") || strings.HasPrefix(g, "tag:"):
		return g
	case g != "":
		return feedURL + "#" + g
	case it.Link != "":
		return strings.TrimSpace(it.Link)
	case it.Title != "":
		return feedURL + "#h" + crawler.IDHash(it.Title+it.Published)
	}
	return ""
}

func itemTime(it *gofeed.Item, now time.Time) time.Time {
	if it.PublishedParsed != nil {
		return it.PublishedParsed.UTC()
	}
	if it.UpdatedParsed != nil {
		return it.UpdatedParsed.UTC()
	}
	return now
}

func safeURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.String()
}

var (
	t2sOnce sync.Once
	t2s     *opencc.OpenCC
)

// toSimplified folds Traditional Chinese to Simplified; text without Han
// characters is returned as is (and the dictionaries are never loaded).
func toSimplified(s string) string {
	if !hasHan(s) {
		return s
	}
	t2sOnce.Do(func() {
		cc, err := opencc.New("t2s")
		if err == nil {
			t2s = cc
		}
	})
	if t2s == nil {
		return s
	}
	out, err := t2s.Convert(s)
	if err != nil {
		return s
	}
	return out
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// Fold is the form names and text are compared in: NFKC, lower case,
// accents removed, Traditional Chinese as Simplified, runs of white space
// as one space.
func Fold(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = norm.NFKC.String(s)
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	if out, _, err := transform.String(t, s); err == nil {
		s = out
	}
	s = strings.ToLower(toSimplified(s))
	return strings.Join(strings.Fields(s), " ")
}

// Matcher finds any of a target's names in text.
type Matcher struct {
	terms []string
}

// NewMatcher prepares the names (empty ones are ignored).
func NewMatcher(names []string) *Matcher {
	m := &Matcher{}
	for _, n := range names {
		if f := Fold(n); f != "" {
			m.terms = append(m.terms, f)
		}
	}
	return m
}

// Match reports whether text mentions one of the names.
func (m *Matcher) Match(text string) bool {
	if len(m.terms) == 0 {
		return false
	}
	f := Fold(text)
	for _, t := range m.terms {
		for i := 0; i <= len(f); {
			j := strings.Index(f[i:], t)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(t)
			if boundary(f, start, end, t) {
				return true
			}
			i = start + 1
		}
	}
	return false
}

// boundary requires word edges around a match whose own edge is a letter or
// digit of a script written with spaces; Han, Kana and Hangul are written
// without them, so matches there need no edge.
func boundary(s string, start, end int, term string) bool {
	first, last := []rune(term)[0], []rune(term)[len([]rune(term))-1]
	if wordy(first) && start > 0 {
		r := lastRune(s[:start])
		if wordy(r) {
			return false
		}
	}
	if wordy(last) && end < len(s) {
		r := []rune(s[end:])[0]
		if wordy(r) {
			return false
		}
	}
	return true
}

func wordy(r rune) bool {
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func lastRune(s string) rune {
	rs := []rune(s)
	return rs[len(rs)-1]
}
