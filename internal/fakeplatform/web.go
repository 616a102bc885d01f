package fakeplatform

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// Web is a fake web site serving feeds, comment pages and robots.txt.
type Web struct {
	faults
	Server *httptest.Server

	mu    sync.RWMutex
	pages map[string]page
}

type page struct {
	contentType string
	body        string
	etag        string
}

// NewWeb starts a fake site on 127.0.0.1 with an allow-all robots.txt.
func NewWeb() *Web {
	w := &Web{pages: map[string]page{}}
	w.Set("/robots.txt", "text/plain", "User-agent: *\nAllow: /\n")
	w.Server = httptest.NewServer(w.middleware(http.HandlerFunc(w.serve)))
	return w
}

// URL is the site's base URL.
func (w *Web) URL() string { return w.Server.URL }

// Close stops the server.
func (w *Web) Close() { w.Server.Close() }

// Set serves body at path with the content type. Each change gets a new
// ETag, and If-None-Match with the current one is answered 304.
func (w *Web) Set(path, contentType, body string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pages[path] = page{contentType: contentType, body: body, etag: fmt.Sprintf(`"%x"`, len(w.pages)*7919+len(body)+int(time.Now().UnixNano()%1e6))}
}

func (w *Web) serve(rw http.ResponseWriter, r *http.Request) {
	w.mu.RLock()
	p, ok := w.pages[r.URL.Path]
	w.mu.RUnlock()
	if !ok {
		http.NotFound(rw, r)
		return
	}
	rw.Header().Set("ETag", p.etag)
	if r.Header.Get("If-None-Match") == p.etag {
		rw.WriteHeader(http.StatusNotModified)
		return
	}
	rw.Header().Set("Content-Type", p.contentType)
	_, _ = rw.Write([]byte(p.body))
}

// FeedItem is one entry of a generated feed.
type FeedItem struct {
	GUID      string
	Title     string
	Link      string
	Author    string
	Published time.Time
	// HTML is the item's description (escaped into the feed as HTML).
	HTML string
}

// RSS renders an RSS 2.0 feed.
func RSS(title, link string, items []FeedItem) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<rss version="2.0"><channel>`)
	fmt.Fprintf(&b, "<title>%s</title><link>%s</link><description>%s</description>\n", html.EscapeString(title), html.EscapeString(link), html.EscapeString(title))
	for _, it := range items {
		fmt.Fprintf(&b, "<item><guid isPermaLink=\"false\">%s</guid><title>%s</title><link>%s</link><author>%s</author><pubDate>%s</pubDate><description>%s</description></item>\n",
			html.EscapeString(it.GUID), html.EscapeString(it.Title), html.EscapeString(it.Link), html.EscapeString(it.Author),
			it.Published.UTC().Format(time.RFC1123Z), html.EscapeString(it.HTML))
	}
	b.WriteString("</channel></rss>\n")
	return b.String()
}

// Atom renders an Atom 1.0 feed.
func Atom(title, link string, items []FeedItem) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<feed xmlns="http://www.w3.org/2005/Atom">`)
	fmt.Fprintf(&b, "<title>%s</title><link href=\"%s\"/><id>%s</id><updated>%s</updated>\n", html.EscapeString(title), html.EscapeString(link), html.EscapeString(link), time.Now().UTC().Format(time.RFC3339))
	for _, it := range items {
		fmt.Fprintf(&b, "<entry><id>%s</id><title>%s</title><link href=\"%s\"/><author><name>%s</name></author><published>%s</published><updated>%s</updated><content type=\"html\">%s</content></entry>\n",
			html.EscapeString(it.GUID), html.EscapeString(it.Title), html.EscapeString(it.Link), html.EscapeString(it.Author),
			it.Published.UTC().Format(time.RFC3339), it.Published.UTC().Format(time.RFC3339), html.EscapeString(it.HTML))
	}
	b.WriteString("</feed>\n")
	return b.String()
}

// Comment is one comment on a generated comments page.
type Comment struct {
	ID     string
	Author string
	Time   time.Time
	// HTML is the comment body, inserted as is.
	HTML string
}

// CommentSelectors are the selectors that read CommentsPage.
var CommentSelectors = model.HTMLSelectors{
	Item:       "article.comment",
	ID:         "@data-id",
	Text:       ".body",
	Author:     ".author",
	Time:       "time@datetime",
	TimeLayout: time.RFC3339,
	Link:       "a.permalink@href",
	Next:       "a.next@href",
}

// CommentsPage renders a comments page; next, when set, is the href of the
// next page link.
func CommentsPage(title string, comments []Comment, next string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body><main><h1>%s</h1><section id=\"comments\">\n", html.EscapeString(title), html.EscapeString(title))
	for _, c := range comments {
		fmt.Fprintf(&b, "<article class=\"comment\" data-id=\"%s\"><header><span class=\"author\">%s</span> <time datetime=\"%s\">%s</time> <a class=\"permalink\" href=\"#c-%s\">#</a></header><div class=\"body\">%s</div></article>\n",
			html.EscapeString(c.ID), html.EscapeString(c.Author), c.Time.UTC().Format(time.RFC3339), c.Time.UTC().Format("2 Jan 2006 15:04"), html.EscapeString(c.ID), c.HTML)
	}
	b.WriteString("</section>")
	if next != "" {
		fmt.Fprintf(&b, "<nav><a class=\"next\" href=\"%s\">Older comments</a></nav>", html.EscapeString(next))
	}
	b.WriteString("</main></body></html>\n")
	return b.String()
}
