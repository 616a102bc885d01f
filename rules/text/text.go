package text

// Normalized is a reply's text after the shared normaliser. (The rules/text
// engineer owns this file and may add fields; these two are the contract.)
type Normalized struct {
	// Text is the canonical form: NFKC, case-folded, invisible characters
	// removed, homoglyphs folded, URLs/mentions/emoji stripped, Traditional
	// Chinese folded to Simplified, whitespace collapsed.
	Text string
	// Folded is Text with accents removed (French matching).
	Folded string
	// Han counts the Han, kana and Hangul runes in Text; Latin counts the
	// other letters and digits. Rules use them for their minimum lengths
	// (a Chinese sentence says as much in 10 characters as English in 25).
	Han, Latin int
}
