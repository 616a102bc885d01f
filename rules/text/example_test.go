package text_test

import (
	"fmt"

	"github.com/mpwatch/mpwatch/rules/text"
)

func ExampleNormalize() {
	// Cyrillic look-alikes, a zero-width space, emoji, a mention and a link.
	n := text.Normalize("@mp_office Тhе МР wаs ac\u200bcused!!! 🔥🔥 https://t.co/x")
	fmt.Println(n.Text)
	fr := text.Normalize("Le député est ACCUSÉ")
	fmt.Println(fr.Text, "|", fr.Folded)
	fmt.Println(text.Normalize("這個議員的醜聞").Text)
	// Output:
	// the mp was accused!
	// le député est accusé | le depute est accuse
	// 这个议员的丑闻
}

func ExampleLSH() {
	lsh := text.NewLSH(20, 5)
	mh := text.NewMinHasher(lsh.SigLen(), 1)
	keys := func(s string) []uint32 {
		set := text.Shingles(text.Normalize(s).Folded)
		return lsh.BandKeys(mh.Signature(set, nil), nil)
	}
	lsh.Add(1, keys("The MP was accused of serious crimes by a brave critic."))
	lsh.Add(2, keys("Thank you for the new bridge, it is wonderful news for the riding."))
	fmt.Println(lsh.Candidates(keys("the MP was accused of SERIOUS crimes by a brave critic!!"), nil))
	lsh.Remove(1)
	fmt.Println(lsh.Candidates(keys("the MP was accused of SERIOUS crimes by a brave critic!!"), nil))
	// Output:
	// [1]
	// []
}
