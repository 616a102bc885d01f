package scenario

import (
	"math/rand/v2"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Family is one narrative in several languages. A copy is an opener, the
// core claim about the MP ({name}), and a closer; with paraphrase on, each
// part is picked from its variants, so copies differ as real campaigns'
// copies do while keeping the same core claim.
type Family struct {
	Name     string
	Openers  map[string][]string
	Core     map[string][]string
	Closers  map[string][]string
	Hashtags []string
}

// Narratives are accusation narratives in the style RRM Canada described in
// 2023: a "critic" is said to have accused the MP of crimes.
var Narratives = []Family{
	{
		Name: "critic-accuses",
		Openers: map[string][]string{
			"en": {"Shocking news:", "Everyone needs to see this.", "Breaking:", "Did you know?", "Canadians deserve the truth."},
			"fr": {"Nouvelle choquante :", "Tout le monde doit voir ça.", "Dernière heure :", "Le saviez-vous ?", "Les Canadiens méritent la vérité."},
			"zh": {"震惊！", "大家都应该看看。", "突发：", "你知道吗？", "加拿大人有权知道真相。"},
		},
		Core: map[string][]string{
			"en": {
				"a well-known critic living in Canada has publicly accused {name} of serious crimes including fraud and sexual misconduct",
				"a prominent critic in Canada publicly accused {name} of serious crimes, including fraud and sexual misconduct",
				"a famous critic living in Canada has openly accused {name} of grave crimes including fraud and sexual misconduct",
			},
			"fr": {
				"un critique bien connu vivant au Canada a publiquement accusé {name} de crimes graves, dont fraude et inconduite sexuelle",
				"un critique célèbre au Canada a accusé publiquement {name} de crimes graves, notamment fraude et inconduite sexuelle",
				"un critique connu vivant au Canada accuse publiquement {name} de crimes graves dont la fraude et l'inconduite sexuelle",
			},
			"zh": {
				"一位住在加拿大的知名批评人士公开指控{name}犯有欺诈和性侵等严重罪行",
				"住在加拿大的一位著名批评人士公开指控{name}犯下欺诈和性侵等严重罪行",
				"一名在加拿大的知名批评者公开指控{name}涉嫌欺诈和性侵等严重罪行",
			},
		},
		Closers: map[string][]string{
			"en": {"Why is the media silent?", "Resign now!", "Share before it is deleted.", "The truth will come out.", ""},
			"fr": {"Pourquoi les médias se taisent-ils ?", "Démission !", "Partagez avant que ce soit supprimé.", "La vérité éclatera.", ""},
			"zh": {"为什么媒体保持沉默？", "立即辞职！", "趁还没被删赶紧转发。", "真相终将大白。", ""},
		},
		Hashtags: []string{"#truth", "#cdnpoli", "#scandal"},
	},
	{
		Name: "deepfake-video",
		Openers: map[string][]string{
			"en": {"Watch the video.", "This video is everywhere now.", "Leaked video:"},
			"fr": {"Regardez la vidéo.", "Cette vidéo circule partout.", "Vidéo divulguée :"},
			"zh": {"看视频。", "这个视频已经传遍了。", "泄露视频："},
		},
		Core: map[string][]string{
			"en": {
				"{name} is caught on camera admitting to taking bribes from developers and hiding the money offshore",
				"{name} was caught on camera admitting he took bribes from developers and hid the money offshore",
			},
			"fr": {
				"{name} est filmé en train d'avouer avoir reçu des pots-de-vin de promoteurs et caché l'argent à l'étranger",
				"{name} a été filmé en avouant des pots-de-vin de promoteurs et de l'argent caché à l'étranger",
			},
			"zh": {
				"{name}被拍到承认收受开发商贿赂并把钱藏到海外",
				"视频拍到{name}承认收了开发商的贿赂还把钱转移到海外",
			},
		},
		Closers: map[string][]string{
			"en": {"Unbelievable.", "Spread the word.", ""},
			"fr": {"Incroyable.", "Faites passer.", ""},
			"zh": {"难以置信。", "请转发。", ""},
		},
	},
}

// Render writes one copy of the narrative about the MP called name.
func (f Family) Render(r *rand.Rand, lang, name string, paraphrase bool) string {
	pick := func(opts []string) string {
		if len(opts) == 0 {
			return ""
		}
		if !paraphrase {
			return opts[0]
		}
		return opts[r.IntN(len(opts))]
	}
	core := strings.ReplaceAll(pick(f.Core[lang]), "{name}", name)
	parts := []string{pick(f.Openers[lang]), core}
	if lang == "zh" {
		parts[1] += "。"
	} else {
		parts[1] += "."
	}
	if c := pick(f.Closers[lang]); c != "" {
		parts = append(parts, c)
	}
	if paraphrase && len(f.Hashtags) > 0 && r.IntN(3) == 0 {
		parts = append(parts, f.Hashtags[r.IntN(len(f.Hashtags))])
	}
	sep := " "
	if lang == "zh" {
		sep = ""
	}
	return strings.Join(parts, sep)
}

var homoglyphs = map[rune]rune{
	'a': 'а', 'e': 'е', 'o': 'о', 'p': 'р', 'c': 'с', 'x': 'х', 'y': 'у', 'i': 'і',
	'A': 'А', 'E': 'Е', 'O': 'О', 'P': 'Р', 'C': 'С', 'H': 'Н', 'K': 'К', 'M': 'М', 'T': 'Т',
}

// simplified → traditional for the characters the narratives use
var traditional = map[rune]rune{
	'众': '眾', '应': '應', '该': '該', '们': '們', '发': '發', '开': '開', '贿': '賄', '赂': '賂', '钱': '錢', '见': '見',
	'认': '認', '诈': '詐', '严': '嚴', '际': '際', '视': '視', '频': '頻', '传': '傳', '为': '為', '么': '麼', '体': '體',
	'职': '職', '终': '終', '删': '刪', '转': '轉', '还': '還', '难': '難', '请': '請', '说': '說', '这': '這', '个': '個',
	'经': '經', '泄': '洩', '评': '評', '辞': '辭', '惊': '驚',
}

var emojis = []string{"😡", "🔥", "‼️", "👉", "🇨🇦", "😱", "💯"}

// Obfuscate applies the tricks spam networks use to defeat exact matching:
// look-alike letters, zero-width characters, emoji noise, stripped accents
// (French) and Traditional characters (Chinese).
func Obfuscate(r *rand.Rand, s, lang string) string {
	var b strings.Builder
	switch lang {
	case "zh":
		for _, c := range s {
			if t, ok := traditional[c]; ok && r.IntN(2) == 0 {
				c = t
			}
			b.WriteRune(c)
			if r.IntN(12) == 0 {
				b.WriteRune('\u200b')
			}
		}
	default:
		if lang == "fr" && r.IntN(2) == 0 {
			s = stripAccents(s)
		}
		for _, c := range s {
			if h, ok := homoglyphs[c]; ok && r.IntN(4) == 0 {
				c = h
			}
			b.WriteRune(c)
			if unicode.IsLetter(c) && r.IntN(15) == 0 {
				b.WriteRune([]rune{'\u200b', '\u200c', '\u2060', '\ufeff'}[r.IntN(4)])
			}
		}
	}
	out := b.String()
	for n := r.IntN(3); n > 0; n-- {
		out += " " + emojis[r.IntN(len(emojis))]
	}
	return out
}

func stripAccents(s string) string {
	var b strings.Builder
	for _, c := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, c) {
			continue
		}
		b.WriteRune(c)
	}
	return norm.NFC.String(b.String())
}
