package text

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/longbridgeapp/opencc"
	"golang.org/x/text/unicode/norm"
)

// confusableLo..confusableHi covers Greek, Cyrillic and Armenian, where the
// look-alikes of Latin letters live.
const (
	confusableLo = 0x0370
	confusableHi = 0x0590
)

// confusables maps case-folded Greek, Cyrillic and Armenian letters to the
// Latin letter they are drawn like. Case is folded first, so a look-alike of
// an uppercase letter (Cyrillic Н for H) is listed by its lowercase (н → h).
// Where a letter looks like two (Greek η: H or n, μ: M or u), the table
// picks the swap seen in practice: η→n, ν→v, υ→u, but μ→m (uppercase Μ in
// "ΜΡ" is the common trick; the micro sign is rare in replies).
var confusables = func() []rune {
	t := make([]rune, confusableHi-confusableLo)
	for from, to := range map[rune]rune{
		// Cyrillic
		'а': 'a', 'в': 'b', 'г': 'r', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm',
		'н': 'h', 'о': 'o', 'п': 'n', 'р': 'p', 'с': 'c', 'т': 't', 'у': 'y',
		'х': 'x', 'ь': 'b', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'һ': 'h',
		'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l', 'ү': 'y', 'ɡ': 'g',
		// Greek
		'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'ζ': 'z', 'η': 'n', 'ι': 'i',
		'κ': 'k', 'μ': 'm', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'ς': 's', 'τ': 't',
		'υ': 'u', 'χ': 'x', 'ω': 'w', 'ϲ': 'c', 'ϳ': 'j',
		// Armenian
		'օ': 'o', 'ս': 'u', 'հ': 'h', 'ո': 'n',
	} {
		if from >= confusableLo && from < confusableHi {
			t[from-confusableLo] = to
		}
	}
	return t
}()

// confusable returns the Latin skeleton letter for a look-alike.
func confusable(r rune) (rune, bool) {
	switch {
	case r >= confusableLo && r < confusableHi:
		if m := confusables[r-confusableLo]; m != 0 {
			return m, true
		}
	case r == 'ı' || r == 'ɩ':
		return 'i', true
	case r == 'ȷ':
		return 'j', true
	case r == 'ɡ':
		return 'g', true
	case r == 'ʏ':
		return 'y', true
	}
	return r, false
}

// accentTableHi bounds the runes whose accent-free form is precomputed: Latin,
// Greek, Cyrillic and their extensions. Above it only marks are dropped, so
// Hangul syllables and kana are left whole.
const accentTableHi = 0x2000

var accents struct {
	once  sync.Once
	table []rune // base rune for r (0 = unchanged), for r < accentTableHi
}

func loadAccents() {
	t := make([]rune, accentTableHi)
	var buf [utf8.UTFMax]byte
	for r := rune(0x80); r < accentTableHi; r++ {
		if r >= 0x1100 && r < 0x1200 { // Hangul Jamo: keep
			continue
		}
		k := utf8.EncodeRune(buf[:], r)
		d := norm.NFD.Properties(buf[:k]).Decomposition()
		if len(d) == 0 {
			continue
		}
		base, size := utf8.DecodeRune(d)
		rest := string(d[size:])
		allMarks := true
		for _, m := range rest {
			if !unicode.Is(unicode.Mn, m) {
				allMarks = false
				break
			}
		}
		if allMarks && base != r {
			if m, ok := confusable(base); ok {
				base = m
			}
			t[r] = base
		}
	}
	accents.table = t
}

// stripAccents is Text without diacritics: NFD, then the marks dropped.
func stripAccents(s string) string {
	accents.once.Do(loadAccents)
	changed := false
	for _, r := range s {
		if r >= utf8.RuneSelf && (r < accentTableHi && accents.table[r] != 0 || unicode.Is(unicode.Mn, r)) {
			changed = true
			break
		}
	}
	if !changed {
		return s // Chinese, emoji-free English: nothing to strip, no copy
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
			continue
		}
		if r < accentTableHi {
			if m := accents.table[r]; m != 0 {
				r = m
			}
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// The Traditional→Simplified folding is per character: OpenCC's t2s chain
// is a phrase dictionary over a character dictionary, and a near-duplicate
// test only needs both scripts to land on the same characters. Converting
// every CJK character once through OpenCC and keeping a flat table makes the
// per-reply cost a slice index per Han character instead of OpenCC's
// per-call dictionary walk (see BenchmarkOpenCCConvert).
var hanRanges = [][2]rune{{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}}

const hanLo, hanHi = 0x3400, 0xA000

var t2s struct {
	once  sync.Once
	table []rune // simplified form of r-hanLo, 0 when unchanged
	err   error
}

func loadT2S() {
	cc, err := opencc.New("t2s")
	if err != nil {
		t2s.err = err
		return
	}
	var in strings.Builder
	var runes []rune
	for _, rg := range hanRanges {
		for r := rg[0]; r <= rg[1]; r++ {
			in.WriteRune(r)
			in.WriteByte('\n')
			runes = append(runes, r)
		}
	}
	out, err := cc.Convert(in.String())
	if err != nil {
		t2s.err = err
		return
	}
	parts := strings.Split(out, "\n")
	t := make([]rune, hanHi-hanLo)
	if len(parts) < len(runes) {
		// The phrase dictionary swallowed a separator: fall back to one
		// conversion per character.
		parts = parts[:0]
		for _, r := range runes {
			o, err := cc.Convert(string(r))
			if err != nil {
				t2s.err = err
				return
			}
			parts = append(parts, o)
		}
	}
	for i, r := range runes {
		o := parts[i]
		sr, size := utf8.DecodeRuneInString(o)
		if size == len(o) && sr != r && sr != utf8.RuneError {
			t[r-hanLo] = sr
		}
	}
	t2s.table = t
}

// T2SError reports whether the OpenCC dictionaries failed to load (then
// Traditional Chinese is left as is). It forces the lazy load.
func T2SError() error {
	t2s.once.Do(loadT2S)
	return t2s.err
}

func toSimplified(s string) string {
	t2s.once.Do(loadT2S)
	if t2s.table == nil {
		return s
	}
	changed := false
	for _, r := range s {
		if r >= hanLo && r < hanHi && t2s.table[r-hanLo] != 0 {
			changed = true
			break
		}
	}
	if !changed {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= hanLo && r < hanHi {
			if m := t2s.table[r-hanLo]; m != 0 {
				r = m
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
