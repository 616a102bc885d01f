package rules

import (
	"unicode"
	"unicode/utf8"
)

// lexAC is a byte-level Aho-Corasick automaton over every phrase, keyword
// and required regex literal of a matcher, built once per rule, so a reply
// is read once per form (Text, and Folded when it differs) however many
// terms the lexicons have. The matcher it replaced ran one strings.Index per
// term and form: ~2,900 ns per reply of the benchmark stream for the
// shipped rule's 37 terms; this one takes ~400 ns for the same replies
// (~240 bytes of Text and Folded each, BenchmarkLexMatch).
//
// The transition table is dense over byte classes: bytes that occur in no
// pattern share class 0 (they lead back to the root from anywhere), so a
// row is a few dozen entries instead of 256. Entries are row offsets
// (state × classes) so the scan does one load and one add per byte, and
// states are numbered so that those with outputs come last: a single
// comparison tells the scan whether anything ends at this byte.
type lexAC struct {
	class    [256]uint8
	nc       uint32   // classes per row
	delta    []uint32 // row offset of the next state, by row offset + class
	firstOut uint32   // row offset of the first state with outputs
	outAt    []int32  // outputs of state k ≥ first: outs[outAt[k-first]:outAt[k-first+1]]
	outs     []lexOut
	maxLen   int // longest pattern, in bytes
}

// lexOut is one pattern that ends at a state.
type lexOut struct {
	n     int32 // pattern length in bytes
	id    int32 // term index (a phrase or keyword) or literal index (a regex's)
	lit   bool  // a regex literal: any occurrence counts, no word boundary
	pass  uint8 // lexPassText, lexPassFold: which form of the reply it is for
	bound uint8 // lexBoundBefore|lexBoundAfter: a word boundary is needed there
}

const (
	lexPassText uint8 = 1 << iota // the pattern is looked for in Normalized.Text
	lexPassFold                   // … in Normalized.Folded (French terms)
)

const (
	lexBoundBefore uint8 = 1 << iota // the pattern starts with a word rune
	lexBoundAfter                    // the pattern ends with a word rune
)

// lexACPattern is a pattern to compile and what its occurrences mean.
type lexACPattern struct {
	s   string
	out lexOut // n and bound are filled in by newLexAC
}

func newLexAC(pats []lexACPattern) *lexAC {
	a := &lexAC{}
	used := [256]bool{}
	for _, p := range pats {
		for i := 0; i < len(p.s); i++ {
			used[p.s[i]] = true
		}
	}
	nc := 1
	for b := range used {
		if used[b] {
			a.class[b] = uint8(nc)
			nc++
		}
	}
	// Patterns hold at most 255 distinct bytes; with all 256 used, class 0
	// would be shared by one pattern byte and the others, so give up on
	// classes and use the identity.
	if nc > 256 {
		for b := range a.class {
			a.class[b] = uint8(b)
		}
		nc = 256
	}
	a.nc = uint32(nc)

	// The trie: row u holds the child of state u per class, -1 for none.
	gotoT := make([]int32, nc)
	for i := range gotoT {
		gotoT[i] = -1
	}
	outs := [][]lexOut{nil}
	for _, p := range pats {
		if p.s == "" {
			continue
		}
		u := int32(0)
		for i := 0; i < len(p.s); i++ {
			c := int32(a.class[p.s[i]])
			v := gotoT[u*int32(nc)+c]
			if v < 0 {
				v = int32(len(outs))
				outs = append(outs, nil)
				for range nc {
					gotoT = append(gotoT, -1)
				}
				gotoT[u*int32(nc)+c] = v
			}
			u = v
		}
		o := p.out
		o.n = int32(len(p.s))
		a.maxLen = max(a.maxLen, len(p.s))
		first, _ := utf8.DecodeRuneInString(p.s)
		last, _ := utf8.DecodeLastRuneInString(p.s)
		if !o.lit && lexWordRune(first) {
			o.bound |= lexBoundBefore
		}
		if !o.lit && lexWordRune(last) {
			o.bound |= lexBoundAfter
		}
		outs[u] = append(outs[u], o)
	}
	states := len(outs)

	// Breadth first: a state's failure link is shallower, so its row is
	// complete when the state's own row is filled from it.
	delta := make([]int32, states*nc) // by state number for now
	fail := make([]int32, states)
	queue := make([]int32, 0, states)
	for c := range nc {
		if v := gotoT[c]; v >= 0 {
			delta[c] = v
			fail[v] = 0
			queue = append(queue, v)
		}
	}
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		outs[u] = append(outs[u], outs[fail[u]]...)
		for c := range int32(nc) {
			v := gotoT[u*int32(nc)+c]
			if v < 0 {
				delta[u*int32(nc)+c] = delta[fail[u]*int32(nc)+c]
				continue
			}
			delta[u*int32(nc)+c] = v
			fail[v] = delta[fail[u]*int32(nc)+c]
			queue = append(queue, v)
		}
	}

	// Renumber: states without outputs first (the root is one: patterns are
	// never empty), then those with outputs.
	num := make([]int32, states)
	next := int32(0)
	for u := range states {
		if len(outs[u]) == 0 {
			num[u] = next
			next++
		}
	}
	first := next
	a.outAt = append(a.outAt, 0)
	for u := range states {
		if len(outs[u]) > 0 {
			num[u] = next
			next++
			a.outs = append(a.outs, outs[u]...)
			a.outAt = append(a.outAt, int32(len(a.outs)))
		}
	}
	a.firstOut = uint32(first) * uint32(nc)
	a.delta = make([]uint32, states*nc)
	for u := range states {
		row := uint32(num[u]) * uint32(nc)
		for c := range nc {
			a.delta[row+uint32(c)] = uint32(num[delta[u*nc+c]]) * uint32(nc)
		}
	}
	return a
}

// lexScan is what one match call found, reused between calls.
type lexScan struct {
	term    []bool // phrase or keyword i occurs as a whole word
	litText []bool // regex literal j occurs in Text
	litFold []bool // … in Folded
	found   bool   // one of the above was set
}

// The scan is a chain of dependent loads: each transition needs the state
// before it. Two chains read side by side overlap in the processor, so a
// reply's Text and Folded are read together, and a single long form is
// read as two halves (the second starting maxLen bytes early, so that
// every occurrence ending in it is seen whole; occurrences seen by both
// are recorded once). Measured on the benchmark stream's texts with the
// shipped lexicon: one chain at a time 500 ns per reply with int32 states
// (sign extension on the chain), 427 ns with uint32, 322 ns two by two.
// (With four chains Go kept some states on the stack, which was slower.)

// lexMinHalf is the shortest form worth reading as two halves, beyond
// the maxLen bytes the second half re-reads.
const lexMinHalf = 64

// scan reads s and records the patterns of pass that occur in it (a
// phrase or keyword only at word boundaries).
func (a *lexAC) scan(s string, pass uint8, r *lexScan) {
	if len(s) < 2*lexMinHalf+a.maxLen {
		a.run(s, 0, len(s), 0, pass, r)
		return
	}
	mid := len(s) / 2
	a.scan2(s, 0, mid, pass, s, max(0, mid-a.maxLen), len(s), pass, r)
}

// scan2 reads x[fx:tx] and y[fy:ty] side by side, each from the root.
func (a *lexAC) scan2(x string, fx, tx int, px uint8, y string, fy, ty int, py uint8, r *lexScan) {
	delta, first, class := a.delta, a.firstOut, &a.class
	xs, ys := x[fx:tx], y[fy:ty]
	n := min(len(xs), len(ys))
	xs, ys = xs[:n], ys[:n]
	var c0, c1 uint32
	for i := range n {
		c0 = delta[c0+uint32(class[xs[i]])]
		c1 = delta[c1+uint32(class[ys[i]])]
		if max(c0, c1) >= first {
			if c0 >= first {
				a.report(x, fx+i+1, c0, px, r)
			}
			if c1 >= first {
				a.report(y, fy+i+1, c1, py, r)
			}
		}
	}
	a.run(x, fx+n, tx, c0, px, r)
	a.run(y, fy+n, ty, c1, py, r)
}

// run reads s[i:to] in state cur.
func (a *lexAC) run(s string, i, to int, cur uint32, pass uint8, r *lexScan) {
	delta, first, class := a.delta, a.firstOut, &a.class
	for ; i < to; i++ {
		cur = delta[cur+uint32(class[s[i]])]
		if cur >= first {
			a.report(s, i+1, cur, pass, r)
		}
	}
}

// report records the patterns of pass that end at end in state cur.
func (a *lexAC) report(s string, end int, cur uint32, pass uint8, r *lexScan) {
	k := (cur - a.firstOut) / a.nc
	for _, o := range a.outs[a.outAt[k]:a.outAt[k+1]] {
		if o.pass&pass == 0 {
			continue
		}
		if o.lit {
			if o.pass == lexPassText {
				r.litText[o.id] = true
			} else {
				r.litFold[o.id] = true
			}
			r.found = true
			continue
		}
		if !r.term[o.id] && lexBoundaryOK(s, end-int(o.n), end, o.bound) {
			r.term[o.id] = true
			r.found = true
		}
	}
}

// lexBoundaryOK reports whether s[i:end] stands as a word: where the
// pattern begins or ends with a word rune, the neighbouring rune must not
// be one (see lexJoins).
func lexBoundaryOK(s string, i, end int, bound uint8) bool {
	if bound&lexBoundBefore != 0 && i > 0 {
		var before rune
		if c := s[i-1]; c < utf8.RuneSelf {
			before = rune(c)
		} else {
			before, _ = utf8.DecodeLastRuneInString(s[:i])
		}
		if lexWordRune(before) {
			return false
		}
	}
	if bound&lexBoundAfter != 0 && end < len(s) {
		var after rune
		if c := s[end]; c < utf8.RuneSelf {
			after = rune(c)
		} else {
			after, _ = utf8.DecodeRuneInString(s[end:])
		}
		if lexWordRune(after) {
			return false
		}
	}
	return true
}

// lexWordRune reports whether r is part of a word of a spaced script: a
// letter, digit or underscore that is not Han, kana or Hangul (those are
// written without spaces, so a term there is a substring).
func lexWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}
