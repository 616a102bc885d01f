// Package html collects comments from any web page whose comments can be
// picked out with CSS selectors (model.HTMLSelectors, given per account in
// the watchlist).
//
// The page at Account.URL is fetched through the shared client with
// robots.txt honoured; each element matching Item is one comment, and the
// other selectors are relative to it. A selector may end in "@attr" to read
// an attribute instead of the text; "@attr" alone reads the item's own
// attribute. Time is parsed with TimeLayout (RFC 3339 when empty); a comment
// whose time cannot be read keeps the crawl time. The Next selector
// (normally "a.next@href") is followed up to MaxPages pages, on the same
// host only.
//
// Comments are identified by ID when given, otherwise by a hash of author,
// time and text; the stored reply id is "<host><path>#<id>" so two sites'
// comment numbers never collide. Incremental: the first page is fetched
// conditionally (ETag / Last-Modified from the cursor, 304 means nothing
// new) and the cursor keeps short hashes of recently seen comment ids, so a
// re-crawl returns only comments not returned before.
package html

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/model"
)

// Options configure the source.
type Options struct {
	// MaxPages is the default page limit when the account sets none (5).
	MaxPages int
	// SeenMax bounds the seen-id hashes kept in the cursor (2000).
	SeenMax int
}

// Source is the html crawler source.
type Source struct {
	c    *crawler.Client
	opts Options
}

var _ crawler.Source = (*Source)(nil)

// New builds the source on the shared client.
func New(c *crawler.Client, opts Options) *Source {
	if opts.MaxPages <= 0 {
		opts.MaxPages = 5
	}
	if opts.SeenMax <= 0 {
		opts.SeenMax = 2000
	}
	return &Source{c: c, opts: opts}
}

// Platform is model.HTML.
func (s *Source) Platform() model.Platform { return model.HTML }

// Crawl reads new comments on the page and the pages after it.
func (s *Source) Crawl(ctx context.Context, req crawler.Request) (crawler.Result, error) {
	acct := req.Account
	sel := acct.HTML
	if acct.URL == "" || sel == nil || sel.Item == "" || sel.Text == "" {
		return crawler.Result{}, fmt.Errorf("html source %s needs url and html selectors item and text", acct.URL)
	}
	var cur crawler.PageCursor
	if req.Cursor != "" {
		_ = json.Unmarshal([]byte(req.Cursor), &cur)
	}
	seen := cur.SeenSet()
	maxPages := acct.MaxPages
	if maxPages <= 0 {
		maxPages = s.opts.MaxPages
	}
	var (
		res     crawler.Result
		errs    []error
		ids     []string
		first   *crawler.Response
		visited = map[string]bool{}
	)
	pageURL := acct.URL
	for page := 0; page < maxPages && pageURL != "" && !visited[pageURL]; page++ {
		visited[pageURL] = true
		hdr := http.Header{}
		if page == 0 {
			hdr = cur.Conditional()
		}
		resp, err := s.c.GetPage(ctx, pageURL, hdr)
		if err != nil {
			errs = append(errs, fmt.Errorf("read comments page %s: %w", pageURL, err))
			break
		}
		if page == 0 {
			first = resp
			if resp.Status == http.StatusNotModified {
				return crawler.Result{Cursor: req.Cursor}, nil
			}
		}
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(resp.Body))
		if err != nil {
			errs = append(errs, &crawler.Error{Kind: crawler.KindBadResponse, URL: resp.URL, Msg: "unreadable HTML", Err: err})
			break
		}
		if page == 0 {
			res.Posts = append(res.Posts, model.Post{Platform: model.HTML, ID: acct.URL, URL: acct.URL, Target: req.Target.ID,
				Account: acct.URL, CreatedAt: req.Now, Text: crawler.CleanLine(doc.Find("title").First().Text(), 300)})
		}
		base, _ := url.Parse(resp.URL)
		items := doc.Find(sel.Item)
		if items.Length() == 0 && page == 0 {
			errs = append(errs, &crawler.Error{Kind: crawler.KindBadResponse, URL: resp.URL,
				Msg: fmt.Sprintf("no element matches the item selector %q (did the page layout change?)", sel.Item)})
		}
		items.Each(func(_ int, it *goquery.Selection) {
			r, ok := s.item(it, sel, base, req)
			if !ok {
				return
			}
			ids = append(ids, r.ID)
			if !seen[crawler.IDHash(r.ID)] {
				seen[crawler.IDHash(r.ID)] = true
				res.Replies = append(res.Replies, r)
			}
		})
		pageURL = ""
		if sel.Next != "" {
			if next := pick(doc.Selection, sel.Next); next != "" {
				// Only pages of the same site: a page must not send the
				// crawler elsewhere.
				if u, err := base.Parse(next); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host == base.Host {
					u.Fragment = ""
					pageURL = u.String()
				}
			}
		}
	}
	if first != nil && first.Status != http.StatusNotModified {
		c := cur.Next(first, ids, s.opts.SeenMax)
		if len(errs) > 0 {
			// Validators would make the next crawl skip pages we failed on.
			c.ETag, c.LastModified = "", ""
		}
		b, _ := json.Marshal(c)
		res.Cursor = string(b)
	}
	return res, errors.Join(errs...)
}

// pick applies "selector", "selector@attr" or "@attr" to s.
func pick(s *goquery.Selection, spec string) string {
	q, attr, hasAttr := spec, "", false
	if i := strings.LastIndex(spec, "@"); i >= 0 {
		q, attr, hasAttr = spec[:i], spec[i+1:], true
	}
	el := s
	if strings.TrimSpace(q) != "" {
		el = s.Find(q).First()
	}
	if el.Length() == 0 {
		return ""
	}
	if hasAttr {
		v, _ := el.Attr(strings.TrimSpace(attr))
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(el.Text())
}

var fallbackLayouts = []string{time.RFC3339, time.RFC1123Z, time.RFC1123, "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"}

func (s *Source) item(it *goquery.Selection, sel *model.HTMLSelectors, base *url.URL, req crawler.Request) (model.Reply, bool) {
	textEl := it.Find(sel.Text).First()
	if textEl.Length() == 0 {
		return model.Reply{}, false
	}
	inner, _ := textEl.Html()
	text := crawler.HTMLToText(inner)
	if text == "" {
		return model.Reply{}, false
	}
	author := ""
	if sel.Author != "" {
		author = crawler.CleanLine(pick(it, sel.Author), 200)
	}
	created := req.Now
	if sel.Time != "" {
		if v := pick(it, sel.Time); v != "" {
			layouts := fallbackLayouts
			if sel.TimeLayout != "" {
				layouts = []string{sel.TimeLayout}
			}
			for _, l := range layouts {
				if t, err := time.Parse(l, v); err == nil {
					created = t.UTC()
					break
				}
			}
		}
	}
	id := ""
	if sel.ID != "" {
		id = crawler.CleanLine(pick(it, sel.ID), 200)
	}
	if id == "" {
		id = "h" + crawler.IDHash(author+"\x00"+created.Format(time.RFC3339)+"\x00"+text)
	}
	link := ""
	if sel.Link != "" {
		if v := pick(it, sel.Link); v != "" {
			if u, err := base.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				link = u.String()
			}
		}
	}
	page, _ := url.Parse(req.Account.URL)
	if page == nil {
		page = base
	}
	if link == "" {
		u := *page
		u.Fragment = id
		link = u.String()
	}
	r := model.Reply{
		Platform: model.HTML, ID: page.Host + page.Path + "#" + id, URL: link, Kind: model.KindReply,
		Target: req.Target.ID, Account: req.Account.URL, PostID: req.Account.URL,
		CreatedAt: created, Text: text,
	}
	if author != "" {
		r.Author = model.Author{ID: page.Host + ":" + strings.ToLower(author), Handle: author, Name: author}
	}
	return r, true
}
