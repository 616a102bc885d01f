// Package email sends notify messages over SMTP with wneessen/go-mail:
// multipart text and HTML (html/template escapes every untrusted string),
// STARTTLS, implicit TLS or none, optional authentication and timeouts.
//
// Threading: each message gets a Message-ID derived from its delivery, so a
// retry carries the same id; a message about alerts already mailed carries
// In-Reply-To and References naming the first mail, and the receipt returns
// that first id for later messages.
//
// Header injection: the subject and every header value are built from
// cleaned text (control characters, CR and LF replaced) and go-mail encodes
// non-ASCII header text.
package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/console"
)

// Options are the notifier's injected dependencies.
type Options struct {
	Now func() time.Time
}

// Notifier mails one list of recipients.
type Notifier struct {
	cfg notify.EmailConfig
	now func() time.Time
}

// New makes a notifier for cfg.
func New(cfg notify.EmailConfig, opts Options) *Notifier {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = yamlx.Duration(15 * time.Second)
	}
	return &Notifier{cfg: cfg, now: opts.Now}
}

// Notify mails the message.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	msg, id, err := n.Build(m)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	c, err := n.client()
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("smtp client for %s: %w", n.cfg.Host, err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return notify.Receipt{}, classify(fmt.Errorf("send mail via %s: %w", n.cfg.Host, err))
	}
	if m.Thread != "" {
		return notify.Receipt{Thread: m.Thread}, nil
	}
	return notify.Receipt{Thread: id}, nil
}

func (n *Notifier) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithTimeout(n.cfg.Timeout.D())}
	if n.cfg.Port != 0 {
		opts = append(opts, gomail.WithPort(n.cfg.Port))
	}
	switch n.cfg.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSLPort(false))
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if n.cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if n.cfg.TLS == "none" {
			// the administrator chose no TLS for this server
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(n.cfg.Username), gomail.WithPassword(n.cfg.Password.Value()))
	}
	if n.cfg.TLS == "tls" && n.cfg.Port != 0 {
		opts = append(opts, gomail.WithPort(n.cfg.Port))
	}
	return gomail.NewClient(n.cfg.Host, opts...)
}

// classify: 5xx SMTP replies (bad recipient, auth refused) are permanent;
// the rest (connection, 4xx) are retried.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return notify.Permanent(err)
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() {
		if se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPMailFrom {
			return notify.Permanent(err)
		}
	}
	return notify.Retryable(err, 0)
}

// Build makes the mail and returns its Message-ID (without angle brackets).
func (n *Notifier) Build(m notify.Message) (*gomail.Msg, string, error) {
	msg := gomail.NewMsg()
	if err := msg.From(n.cfg.From); err != nil {
		return nil, "", fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(n.cfg.To...); err != nil {
		return nil, "", fmt.Errorf("to addresses: %w", err)
	}
	msg.Subject(Subject(m))
	id := MessageID(m, n.cfg.From)
	msg.SetMessageIDWithValue(id)
	msg.SetDateWithValue(n.now())
	if m.Thread != "" {
		ref := "<" + headerSafe(m.Thread) + ">"
		msg.SetGenHeader(gomail.HeaderInReplyTo, ref)
		msg.SetGenHeader(gomail.HeaderReferences, ref)
	}
	msg.SetGenHeader(gomail.Header("X-Mpwatch-Kind"), string(m.Kind))
	msg.SetBulk()
	text := console.Render(m)
	if m.Kind == notify.KindTest {
		text = "THIS IS A TEST MESSAGE.\n\n" + text
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	var html bytes.Buffer
	if err := page.Execute(&html, view(m)); err != nil {
		return nil, "", fmt.Errorf("render html: %w", err)
	}
	msg.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return msg, id, nil
}

// Subject is "[mpwatch] " + the message title, on one line.
func Subject(m notify.Message) string {
	return notify.Truncate("[mpwatch] "+console.Clean(notify.Title(m)), 200)
}

// MessageID is stable per delivery, so a retried mail keeps its id.
func MessageID(m notify.Message, from string) string {
	domain := "mpwatch.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	h := sha256.Sum256([]byte(m.Receiver + "\x00" + m.GroupKey + "\x00" + m.ID + "\x00" + m.CreatedAt.UTC().Format(time.RFC3339Nano)))
	return "mpwatch." + headerSafe(m.ID) + "." + hex.EncodeToString(h[:8]) + "@" + headerSafe(domain)
}

func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == '<' || r == '>' {
			return -1
		}
		return r
	}, s)
}

type alertView struct {
	Headline, Reason string
	Facts            []notify.Fact
	Samples          []model.Sample
	MoreSamples      int
	Evidence         string
	Posts            []string
}

type pageView struct {
	Title, Period string
	Test          bool
	Alerts        []alertView
}

func view(m notify.Message) pageView {
	v := pageView{Title: notify.Title(m), Test: m.Kind == notify.KindTest}
	if m.Kind == notify.KindDigest {
		v.Period = m.From.UTC().Format("2006-01-02 15:04") + " – " + m.To.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, a := range m.Alerts {
		s := notify.Samples(a, 5)
		v.Alerts = append(v.Alerts, alertView{Headline: notify.Headline(a), Reason: notify.Reason(a), Facts: notify.Facts(a),
			Samples: s, MoreSamples: len(a.Evidence.Samples) - len(s), Evidence: safeURL(a.Evidence.Link), Posts: safeURLs(a.Evidence.Posts)})
	}
	return v
}

// safeURL keeps only http(s) URLs (html/template also filters, but an
// unsafe URL is better dropped than shown as "#ZgotmplZ").
func safeURL(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s
	}
	return ""
}

func safeURLs(ss []string) []string {
	var out []string
	for _, s := range ss {
		if u := safeURL(s); u != "" {
			out = append(out, u)
		}
	}
	return out
}

var page = htmltemplate.Must(htmltemplate.New("mail").Funcs(htmltemplate.FuncMap{
	"trunc":   notify.Truncate,
	"safeURL": safeURL,
	"inc":     func(i int) int { return i + 1 },
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family: sans-serif; font-size: 14px; color: #222">
{{if .Test}}<p style="background:#ffe58f;padding:8px"><strong>This is a test message.</strong></p>{{end}}
<h2>{{.Title}}</h2>
{{if .Period}}<p>{{.Period}}</p>{{end}}
{{range .Alerts}}
<h3>{{.Headline}}</h3>
<p>{{.Reason}}</p>
<table cellpadding="4" style="border-collapse: collapse">
{{range .Facts}}<tr><th align="left" valign="top">{{.Label}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{if .Samples}}<h4>Sample replies</h4>
{{range .Samples}}<blockquote style="border-left: 3px solid #ccc; margin: 8px 0; padding-left: 8px">{{trunc .Text 500}}<br>
<small>— {{.Author}}{{with safeURL .URL}} · <a href="{{.}}">reply</a>{{end}}</small></blockquote>
{{end}}{{if gt .MoreSamples 0}}<p>… and {{.MoreSamples}} more sample(s)</p>{{end}}{{end}}
<p>{{with .Evidence}}<a href="{{.}}">Full evidence</a>{{end}}{{range $i, $p := .Posts}} · <a href="{{$p}}">Post {{inc $i}}</a>{{end}}</p>
{{end}}
</body></html>
`))
