package scenario

import "strings"

// Narrative returns narrative family k: the hand-written Narratives first,
// then storylines built from the slots below. Independent operations push
// different stories; drawing every campaign of a benchmark from two families
// made unrelated campaigns post the same text, so the detector rightly saw
// one narrative and the benchmark could not tell them apart.
//
// A storyline is a source, an accusation and a consequence. Storyline j
// takes source x, accusation x+y and consequence x+2y (mod 7, with x = j mod
// 7, y = j / 7), so any two of the first 49 storylines share at most one of
// the three slots, and their copies stay far below any near-duplicate
// threshold (tested), while the copies of one storyline differ only in
// opener, wording and closer, as a campaign's copies do.
func Narrative(k int) Family {
	if k < 0 {
		k = -k
	}
	if k < len(Narratives) {
		return Narratives[k]
	}
	j := (k - len(Narratives)) % (slotN * slotN)
	x, y := j%slotN, j/slotN
	src, acc, con := storySources[x], storyAccusations[(x+y)%slotN], storyConsequences[(x+2*y)%slotN]
	f := Family{Name: "storyline-" + itoa(j), Core: map[string][]string{}, Openers: map[string][]string{}, Closers: map[string][]string{}}
	for li, lang := range []string{"en", "fr", "zh"} {
		for _, frame := range storyFrames[lang] {
			s := strings.NewReplacer("{src}", src[li], "{acc}", acc[li], "{con}", con[li]).Replace(frame)
			f.Core[lang] = append(f.Core[lang], s)
		}
		// three openers and closers of the pool per storyline, so two
		// storylines rarely open and close alike
		for i := 0; i < 3; i++ {
			f.Openers[lang] = append(f.Openers[lang], storyOpeners[lang][(j+i*3)%len(storyOpeners[lang])])
			f.Closers[lang] = append(f.Closers[lang], storyClosers[lang][(j*2+i)%len(storyClosers[lang])])
		}
	}
	return f
}

const slotN = 7

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// storyFrames word a storyline two ways per language ({name} is the MP).
var storyFrames = map[string][]string{
	"en": {"{src} says {name} {acc}, {con}", "according to {src}, {name} {acc} and {con}"},
	"fr": {"{src} affirme que {name} {acc}, {con}", "selon {src}, {name} {acc} et {con}"},
	"zh": {"{src}称{name}{acc}，{con}", "据{src}透露，{name}{acc}，而且{con}"},
}

// slots: en, fr, zh
var storySources = [slotN][3]string{
	{"a former staffer", "un ancien employé", "一名前助理"},
	{"a leaked police report", "un rapport de police divulgué", "一份泄露的警方报告"},
	{"an investigative blogger in Vancouver", "un blogueur d'enquête de Vancouver", "温哥华一位调查博主"},
	{"a whistleblower at the riding office", "un lanceur d'alerte du bureau de circonscription", "选区办公室的一名举报人"},
	{"bank records shared online", "des relevés bancaires publiés en ligne", "网上流传的银行记录"},
	{"the MP's own ex-partner", "l'ex-conjoint du député", "该议员的前伴侣"},
	{"a group of local business owners", "un groupe de commerçants du quartier", "一群当地商家"},
}

var storyAccusations = [slotN][3]string{
	{"secretly funnelled campaign donations into a family company",
		"a détourné en secret des dons électoraux vers une entreprise familiale",
		"秘密把竞选捐款转入家族公司"},
	{"took cash from a foreign government to vote against sanctions",
		"a reçu de l'argent d'un gouvernement étranger pour voter contre les sanctions",
		"收了外国政府的现金在制裁投票中投反对票"},
	{"forged signatures on the nomination papers",
		"a falsifié des signatures sur les documents de candidature",
		"在提名文件上伪造签名"},
	{"covered up a drunk driving crash last winter",
		"a étouffé un accident de conduite en état d'ivresse l'hiver dernier",
		"掩盖了去年冬天的一起醉驾车祸"},
	{"used public housing funds to renovate a private cottage",
		"a utilisé des fonds du logement social pour rénover un chalet privé",
		"挪用公共住房资金装修私人别墅"},
	{"bullied interns until three of them quit",
		"a harcelé des stagiaires jusqu'à ce que trois d'entre eux démissionnent",
		"长期欺凌实习生直到三人辞职"},
	{"sold confidential committee documents to lobbyists",
		"a vendu des documents confidentiels du comité à des lobbyistes",
		"把委员会的机密文件卖给游说者"},
}

var storyConsequences = [slotN][3]string{
	{"the ethics commissioner refuses to investigate",
		"le commissaire à l'éthique refuse d'enquêter",
		"道德专员拒绝调查"},
	{"the party knew for months and said nothing",
		"le parti le savait depuis des mois et n'a rien dit",
		"党内几个月前就知道却一言不发"},
	{"the evidence is being deleted from the internet right now",
		"les preuves sont en train d'être effacées d'internet",
		"证据正在被从网上删除"},
	{"journalists who asked questions were threatened with lawsuits",
		"les journalistes qui posaient des questions ont été menacés de poursuites",
		"提问的记者都被威胁起诉"},
	{"the victims were paid to stay silent",
		"les victimes ont été payées pour se taire",
		"受害者被收买保持沉默"},
	{"the RCMP file was quietly closed",
		"le dossier de la GRC a été discrètement classé",
		"皇家骑警的案卷被悄悄结案"},
	{"voters in the riding were never told",
		"les électeurs de la circonscription n'ont jamais été informés",
		"选区的选民从未被告知"},
}

var storyOpeners = map[string][]string{
	"en": {"Wake up, Canada.", "Read this before it disappears.", "Nobody is talking about this.", "Unbelievable.", "Just found out:", "Please share:", "Look at this.", "They hid this from you."},
	"fr": {"Réveille-toi, Canada.", "Lisez ceci avant que ça disparaisse.", "Personne n'en parle.", "Incroyable.", "Je viens d'apprendre que", "Partagez svp :", "Regardez ça.", "On vous l'a caché."},
	"zh": {"醒醒吧加拿大。", "趁还没消失快看。", "没人在谈论这件事。", "难以置信。", "刚刚得知：", "请转发：", "看看这个。", "他们一直瞒着你。"},
}

var storyClosers = map[string][]string{
	"en": {"Demand answers.", "This is a disgrace.", "How is this legal?", "Vote them out.", "Ask your MP.", "Never forget.", "Shame.", ""},
	"fr": {"Exigez des réponses.", "C'est une honte.", "Comment est-ce légal ?", "Votez contre.", "Demandez à votre député.", "N'oubliez jamais.", "Honte.", ""},
	"zh": {"必须给个说法。", "太可耻了。", "这怎么会合法？", "投票让他下台。", "去问问你的议员。", "永远不要忘记。", "可耻。", ""},
}
