package text

import (
	"html"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// A cases.Caser keeps state between calls, so each goroutine borrows its own.
var folders = sync.Pool{New: func() any { c := cases.Fold(); return &c }}

// Normalize returns the canonical forms of a reply's text. It is safe for
// concurrent use and allocates little for plain ASCII input, which is most of
// the traffic.
func Normalize(s string) Normalized {
	if strings.ContainsAny(s, "<&") {
		s = stripMarkup(s)
	}
	ascii := isASCII(s)
	if !ascii {
		s = norm.NFKC.String(s)
		if hasCase(s) {
			c := folders.Get().(*cases.Caser)
			s = c.String(s)
			folders.Put(c)
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	var (
		n              Normalized
		prev           rune = ' ' // last rune written; ' ' at start so tokens start there
		pendingSp      bool
		hasHan         bool
		hasNonASCIIOut bool
	)
	emit := func(r rune) {
		if pendingSp && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pendingSp = false
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
			hasNonASCIIOut = true
		}
		prev = r
	}
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		// Token-level strips look at the raw bytes ahead.
		switch r {
		case 'h', 'H':
			if hasPrefixFold(s[i:], "http://") || hasPrefixFold(s[i:], "https://") {
				i = skipToSpace(s, i)
				continue
			}
		case 'w', 'W':
			if tokenStart(prev, pendingSp) && hasPrefixFold(s[i:], "www.") {
				i = skipToSpace(s, i)
				continue
			}
		case '@':
			if tokenStart(prev, pendingSp) && i+1 < len(s) && isHandleByte(s[i+1]) {
				i++
				for i < len(s) && (isHandleByte(s[i]) || s[i] == '@') {
					i++
				}
				continue
			}
		case '[':
			// Weibo-style emoticon codes ("[微风]", "[可爱]") are emoji.
			if k := emoticonCode(s[i:]); k > 0 {
				i += k
				continue
			}
		case '#':
			// A hashtag keeps its word and loses its mark.
			if i+1 < len(s) {
				nr, _ := utf8.DecodeRuneInString(s[i+1:])
				if unicode.IsLetter(nr) || unicode.IsDigit(nr) {
					i += size
					continue
				}
			}
		}
		i += size
		if r < utf8.RuneSelf {
			switch {
			case r >= 'A' && r <= 'Z':
				r += 'a' - 'A'
				n.Latin++
			case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				n.Latin++
			case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v':
				pendingSp = true
				continue
			case r < 0x20 || r == 0x7f:
				continue
			default: // ASCII punctuation and symbols
				if r == prev && !pendingSp {
					continue
				}
			}
			emit(r)
			continue
		}
		if r >= 0x4E00 && r <= 0x9FFF { // CJK unified ideographs, the bulk of Chinese text
			n.Han++
			hasHan = true
			emit(r)
			continue
		}
		if dropRune(r) {
			continue
		}
		if unicode.IsSpace(r) {
			pendingSp = true
			continue
		}
		if (pendingSp || b.Len() == 0) && unicode.Is(unicode.Mn, r) {
			continue // a mark with no letter to sit on (NFKC spells "˛" as space + mark)
		}
		if m, ok := confusable(r); ok {
			r = m
		}
		switch {
		case isCJK(r):
			n.Han++
			if unicode.Is(unicode.Han, r) {
				hasHan = true
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			n.Latin++
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			if r == prev && !pendingSp {
				continue
			}
		}
		emit(r)
	}
	n.Text = b.String()
	if hasHan {
		n.Text = toSimplified(n.Text)
	}
	if hasNonASCIIOut {
		n.Folded = stripAccents(n.Text)
	} else {
		n.Folded = n.Text
	}
	return n
}

// emoticonCode returns the byte length of a "[…]" code of one to five
// CJK characters at the start of s, or 0.
func emoticonCode(s string) int {
	n := 0
	for i := 1; i < len(s) && i < 1+5*4; {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == ']' {
			if n == 0 {
				return 0
			}
			return i + 1
		}
		if !isCJK(r) {
			return 0
		}
		n++
		i += size
	}
	return 0
}

func tokenStart(prev rune, pendingSp bool) bool {
	if pendingSp || prev == ' ' {
		return true
	}
	// After punctuation too: quoted retweets write “@user: …
	return !unicode.IsLetter(prev) && !unicode.IsDigit(prev) && prev != '_'
}

func isHandleByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// hasPrefixFold is an ASCII-only case-insensitive prefix test.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func skipToSpace(s string, i int) int {
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if unicode.IsSpace(r) {
			return i
		}
		i += size
	}
	return i
}

// hasCase reports whether s has a non-ASCII rune that case folding could
// change (the main loop lowers ASCII itself). Chinese text has none, and
// skipping the folder saves it a copy.
func hasCase(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && (r < 0x3400 || r > 0x9FFF) && unicode.SimpleFold(r) != r {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// dropRune reports runes that carry no text: invisible formatting characters
// (zero-width spaces and joiners, bidi controls, BOM, soft hyphen, tag
// characters), variation selectors, emoji and other pictographs, and
// enclosing marks such as the keycap. Spam networks insert them to make
// copies differ byte-wise while looking the same.
func dropRune(r rune) bool {
	switch {
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r >= 0x1F000 && r <= 0x1FAFF: // emoji, skin tones, regional indicators
		return true
	case r == 0x034F, r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0, r == 0x2800: // grapheme joiner, Hangul fillers, braille blank
		return true
	case r >= 0x2600 && r <= 0x27BF: // misc symbols and dingbats
		return true
	}
	if r < 0x80 {
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Cc, unicode.Co, unicode.So, unicode.Sk, unicode.Me)
}

// isCJK reports the scripts that are shingled by character bigrams because
// they are written without spaces.
func isCJK(r rune) bool {
	if r < 0x1100 {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// stripMarkup drops HTML tags and decodes entities. Block-level tags become a
// space so paragraphs do not run together; inline tags (Mastodon wraps
// mentions, hashtags and links in a, span) leave nothing, so "@<span>user</span>"
// is still one mention.
func stripMarkup(s string) string {
	if !strings.Contains(s, "<") {
		return html.UnescapeString(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '<' || i+1 >= len(s) || !(isTagStart(s[i+1])) {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		if !inlineTag(s[i+1 : i+end]) {
			b.WriteByte(' ')
		}
		i += end + 1
	}
	return html.UnescapeString(b.String())
}

func isTagStart(c byte) bool {
	return c == '/' || c == '!' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func inlineTag(tag string) bool {
	tag = strings.TrimPrefix(tag, "/")
	if k := strings.IndexAny(tag, " \t\n/"); k >= 0 {
		tag = tag[:k]
	}
	switch strings.ToLower(tag) {
	case "a", "span", "b", "i", "em", "strong", "u", "s", "del", "code", "small", "abbr", "bdi", "bdo", "wbr":
		return true
	}
	return false
}
