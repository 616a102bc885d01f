package web

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// dom is a parsed page with the queries the tests need. Checking the parsed
// tree rather than substrings is what proves escaping: escaped text is a text
// node, injected markup would be an element or attribute.
type dom struct{ root *html.Node }

func parseDOM(t *testing.T, s string) dom {
	t.Helper()
	n, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse html: %v", err)
	}
	return dom{n}
}

func (d dom) walk(fn func(*html.Node)) {
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		fn(n)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(d.root)
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	for _, c := range strings.Fields(v) {
		if c == class {
			return true
		}
	}
	return false
}

// elems returns elements named tag (any tag if empty) that have class (any if
// empty).
func (d dom) elems(tag, class string) []*html.Node {
	var out []*html.Node
	d.walk(func(n *html.Node) {
		if n.Type == html.ElementNode && (tag == "" || n.Data == tag) && (class == "" || hasClass(n, class)) {
			out = append(out, n)
		}
	})
	return out
}

func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// bodyText is the visible text of the body (title and style excluded).
func (d dom) bodyText() string {
	for _, b := range d.elems("body", "") {
		return text(b)
	}
	return ""
}

// assertNoInjection fails if any hostile string became markup: no script,
// img, iframe or object elements at all, no event-handler attributes, no
// javascript: hrefs, and only the svg elements the page draws.
func assertNoInjection(t *testing.T, d dom, wantSVGs int) {
	t.Helper()
	for _, tag := range []string{"script", "img", "iframe", "object", "embed"} {
		if n := len(d.elems(tag, "")); n != 0 {
			t.Errorf("page has %d <%s> elements, want none", n, tag)
		}
	}
	d.walk(func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s> has event handler attribute %s=%q", n.Data, a.Key, a.Val)
			}
			if (a.Key == "href" || a.Key == "src") && !strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "http") {
				t.Errorf("<%s %s=%q> is not a site path or http(s) URL", n.Data, a.Key, a.Val)
			}
		}
	})
	if n := len(d.elems("svg", "")); n != wantSVGs {
		t.Errorf("page has %d <svg> elements, want %d (the charts)", n, wantSVGs)
	}
}
