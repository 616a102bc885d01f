package crawler

import (
	"net/http"
	"strings"
)

// LinkRel returns the target of the first Link header entry with the given
// rel ("next", "prev"), verbatim: pagination URLs are opaque and must not be
// rebuilt (Mastodon's carry max_id/min_id, GoToSocial's use its configured
// host). Empty when there is none.
func LinkRel(h http.Header, rel string) string {
	for _, v := range h.Values("Link") {
		for _, part := range splitLinks(v) {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.Index(part, ">")
			if end < 0 {
				continue
			}
			target := part[1:end]
			for _, p := range strings.Split(part[end+1:], ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(r, rel) {
						return target
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header value on the commas between entries, not
// on commas inside <…> or quotes.
func splitLinks(v string) []string {
	var out []string
	inURL, inQuote := false, false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			if !inQuote {
				inURL = true
			}
		case '>':
			if !inQuote {
				inURL = false
			}
		case '"':
			if !inURL {
				inQuote = !inQuote
			}
		case ',':
			if !inURL && !inQuote {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}
