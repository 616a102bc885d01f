// Package text is mpwatch's one text normaliser and the near-duplicate
// machinery built on it: character shingles, MinHash signatures, a banded
// LSH index with removal, Jaccard similarity and a union-find for clusters.
//
// # Normalisation
//
// Spam networks vary copies on purpose, so every text rule sees replies
// through Normalize, which in order: drops HTML markup and decodes entities
// (Mastodon content is HTML; inline tags leave nothing, so "@<span>bob</span>"
// stays one mention); applies NFKC (full-width and mathematical letters,
// ligatures) and Unicode case folding; removes invisible and formatting
// characters (zero-width spaces and joiners, bidi controls, BOM, soft hyphen,
// tag characters, variation selectors, Hangul fillers), emoji and other
// pictographs, and enclosing marks; folds Cyrillic, Greek and Armenian
// look-alikes of Latin letters to their Latin skeleton; strips URLs,
// @mentions and the # of hashtags (the word stays); collapses whitespace
// and runs of one punctuation mark; folds Traditional Chinese characters to
// Simplified. Folded is the same text with diacritics removed, for French
// matching and for shingling.
//
// The Traditional→Simplified step uses OpenCC's t2s dictionaries
// (github.com/longbridgeapp/opencc) once, lazily, to fill a per-character
// table; after that it costs one slice index per Han character. OpenCC's own
// Convert walks its dictionaries per call and is far too slow for 50,000
// replies a second (see BenchmarkOpenCCConvert). Folding per character
// ignores OpenCC's phrase rules, which only matter for display.
//
// # Shingles
//
// Shingles hashes character 4-grams over Latin, Cyrillic and other spaced
// scripts (punctuation counts as a space) and character bigrams over runs of
// Han, kana and Hangul, which are written without spaces; no word
// segmentation is needed. Shingles returns a sorted, de-duplicated set of
// uint32 hashes (a shingle's runes packed into integers and mixed with
// splitmix64, a bijection, so distinct shingles collide only when folded to
// 32 bits), and Jaccard is exact on them. repeated_narrative keeps sets
// folded to 16 bits, de-duplicated but unsorted (Marks.Distinct16), and
// compares them through Marks, which needs no order.
//
// # MinHash and LSH
//
// MinHasher uses one-permutation hashing with optimal densification: one
// hash per shingle chooses one of k bins and each bin keeps its minimum;
// empty bins copy a bin chosen by a fixed probe sequence. For sets A and B
// each bin agrees with probability J = |A∩B|/|A∪B|, as with k independent
// permutations, for O(|A|+k) work instead of O(|A|·k).
//
// LSH cuts a signature of b·r values into b bands of r rows. A pair with
// similarity J agrees on one band with probability J^r and becomes a
// candidate with probability
//
//	P(J) = 1 − (1 − J^r)^b,
//
// an S-curve whose midpoint is near (1/b)^(1/r). The shipped
// repeated_narrative rule uses b=30, r=4 (120 bins): threshold ≈ 0.43;
// P(0.7) ≈ 1.000, P(0.6) ≈ 0.984, P(0.5) ≈ 0.856, P(0.3) ≈ 0.217,
// P(0.2) ≈ 0.047. With that many bands, most pairs sharing one band do so
// by chance (common 4-grams such as " the" and "and "), so the rule checks
// only candidates sharing two bands when the banding leaves enough of the
// pairs at jaccard_min doing so (rules' rnMinHits), and reads only the
// newest entries of a crowded bucket (SetMaxChain); rules/default/
// narrative.yaml says why 30×4 rather than 20×5 or 20×4. Recall is kept at
// the cluster level: a copy joins its cluster when any one of its
// near-copies is a candidate, and a campaign's copies have many (against
// the exact clusters computed by brute force, the rules tests find 99.6 %
// of the clustered replies over all evaluations, at least 97.7 % at each,
// and require 95 %).
//
// Every candidate is confirmed with exact Jaccard on the shingle sets, so
// LSH only decides cost and recall, never precision.
//
// The index stores per item only its band keys (uint32) and chain links,
// and Remove is O(bands), so a sliding window can evict old replies. Chains
// hang from a power-of-two table rather than a map and are walked side by
// side, and Marks compares one new set with many candidates by bitmap
// probes: together about half the cost per new reply of a map, one chain at
// a time and a sorted merge (see rules' BenchmarkRules1M).
package text
