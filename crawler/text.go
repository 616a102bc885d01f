package crawler

import (
	"strings"

	"golang.org/x/net/html"
)

// HTMLToText turns sanitized post HTML (Mastodon content, feed descriptions,
// comment bodies) into plain text: entities decoded, <br> a newline, block
// elements separated by a blank line, link text kept, scripts and styles
// dropped, invalid UTF-8 replaced. It never fails: malformed markup is read
// the way a browser would.
func HTMLToText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	}
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip, pre := 0, 0
	newline := func(n int) {
		cur := b.String()
		if strings.TrimSpace(cur) == "" {
			return
		}
		have := len(cur) - len(strings.TrimRight(cur, "\n"))
		for ; have < n; have++ {
			b.WriteByte('\n')
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip == 0 {
				t := z.Text()
				if pre == 0 {
					// Source line breaks are plain white space in HTML.
					for i, c := range t {
						if c == '\n' || c == '\r' || c == '\t' || c == '\f' {
							t[i] = ' '
						}
					}
				}
				b.Write(t)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if t := z.Token(); t.Type == html.StartTagToken {
					skip++
				}
			case "br":
				b.WriteByte('\n')
			case "pre":
				pre++
				newline(2)
			case "p", "div", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6":
				newline(2)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if skip > 0 {
					skip--
				}
			case "pre":
				if pre > 0 {
					pre--
				}
				newline(2)
			case "p", "div", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6":
				newline(2)
			}
		}
	}
}

// tidy trims each line, keeps at most one blank line in a row and makes the
// text valid UTF-8.
func tidy(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\u00a0", " ")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// CleanText makes plain text from a platform valid UTF-8 and trims it,
// keeping its line breaks.
func CleanText(s string) string {
	return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
}
