// Package slack sends notify messages to Slack through slack-go/slack, either
// to an incoming webhook or with a bot token (chat.postMessage), where updates
// and resolutions of an alert are posted in the thread of its first message.
//
// Every piece of text that came from outside (reply text, author names,
// summaries, URLs) is neutralised before it reaches mrkdwn: &, < and > become
// entities, so nothing can ping (<!channel>, <!here>, <@U…>, <!subteam^…>)
// or forge a link (<https://x|label>); *, _, ~, ` and @ get a zero-width space
// after them so they cannot open formatting; newlines are folded. Links are
// built only from http(s) URLs, percent-encoding what could end the link.
//
// Slack's limits (50 blocks, 3000 characters a section, 2000 a field, 150 a
// header, 10 fields, 10 context elements) are respected by truncating with
// "… and N more".
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
)

// Slack's documented limits.
const (
	MaxBlocks        = 50
	MaxSectionText   = 3000
	MaxFieldText     = 2000
	MaxHeaderText    = 150
	MaxFields        = 10
	MaxContextElems  = 10
	MaxFallbackText  = 3000
	DefaultSamples   = 5
	defaultTimeout   = 10 * time.Second
	zeroWidthSpace   = "\u200b"
	blocksPerAlert   = 5 // header-less: headline, reason, fields, links, more
	reservedForTrail = 1
)

// Options are the notifier's injected dependencies.
type Options struct {
	HTTPClient *http.Client
}

// Notifier posts to one Slack destination.
type Notifier struct {
	cfg    notify.SlackConfig
	client *slackapi.Client // bot-token mode
	http   *http.Client
}

// New makes a notifier for cfg (webhook_url, or token and channel).
func New(cfg notify.SlackConfig, opts Options) *Notifier {
	if cfg.MaxSamples == 0 {
		cfg.MaxSamples = DefaultSamples
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = yamlx.Duration(defaultTimeout)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout.D()}
	}
	n := &Notifier{cfg: cfg, http: hc}
	if cfg.Token.Value() != "" {
		o := []slackapi.Option{slackapi.OptionHTTPClient(hc)}
		if cfg.APIURL != "" {
			api := cfg.APIURL
			if !strings.HasSuffix(api, "/") {
				api += "/"
			}
			o = append(o, slackapi.OptionAPIURL(api))
		}
		n.client = slackapi.New(cfg.Token.Value(), o...)
	}
	return n
}

// Notify posts the message. With a bot token, a message about alerts already
// posted goes in that post's thread, and the receipt carries the root ts.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	blocks, fallback := Blocks(m, n.cfg.MaxSamples)
	if n.client == nil {
		msg := &slackapi.WebhookMessage{Text: fallback, Blocks: &slackapi.Blocks{BlockSet: blocks}}
		if err := slackapi.PostWebhookCustomHTTPContext(ctx, n.cfg.WebhookURL.Value(), n.http, msg); err != nil {
			return notify.Receipt{}, classify("post to slack webhook", err)
		}
		return notify.Receipt{}, nil
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(fallback, false), slackapi.MsgOptionBlocks(blocks...)}
	if m.Thread != "" {
		opts = append(opts, slackapi.MsgOptionTS(m.Thread))
	}
	_, ts, err := n.client.PostMessageContext(ctx, n.cfg.Channel, opts...)
	if err != nil {
		return notify.Receipt{}, classify(fmt.Sprintf("post to slack channel %q", n.cfg.Channel), err)
	}
	if m.Thread != "" {
		return notify.Receipt{Thread: m.Thread}, nil
	}
	return notify.Receipt{Thread: ts}, nil
}

// permanentCodes are Slack API errors that retrying cannot fix.
var permanentCodes = []string{
	"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
	"channel_not_found", "not_in_channel", "is_archived", "missing_scope", "invalid_blocks", "invalid_blocks_format",
	"msg_too_long", "no_text", "too_many_attachments", "restricted_action", "team_access_not_granted",
	"ekm_access_denied", "org_login_required", "invalid_arguments", "not_allowed_token_type",
}

func classify(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return notify.Retryable(err, rl.RetryAfter)
	}
	var sc slackapi.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Retryable() {
			return notify.Retryable(err, 0)
		}
		return notify.Permanent(err)
	}
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) && slices.Contains(permanentCodes, se.Err) {
		return notify.Permanent(err)
	}
	return notify.Retryable(err, 0)
}

// Blocks renders a message as Block Kit blocks and a fallback text (what
// notifications and old clients show), both within Slack's limits.
func Blocks(m notify.Message, maxSamples int) ([]slackapi.Block, string) {
	title := notify.Title(m)
	blocks := []slackapi.Block{slackapi.NewHeaderBlock(plain(notify.Truncate(PlainSafe(title), MaxHeaderText)))}
	if m.Kind == notify.KindDigest {
		blocks = append(blocks, section(fmt.Sprintf("Alerts from %s to %s.", fmtTime(m.From), fmtTime(m.To))))
	}
	multi := len(m.Alerts) > 1
	for i, a := range m.Alerts {
		ab := alertBlocks(a, m, multi, maxSamples)
		left := len(m.Alerts) - i
		room := MaxBlocks - len(blocks)
		if left > 1 {
			room -= reservedForTrail
		}
		if len(ab) > room {
			if !multi || room < 2 {
				blocks = append(blocks, contextText(fmt.Sprintf("… and %d more alert(s)", left)))
				break
			}
			ab = ab[:room]
		}
		blocks = append(blocks, ab...)
	}
	if len(blocks) > MaxBlocks {
		blocks = blocks[:MaxBlocks]
	}
	fb := Escape(title)
	if len(m.Alerts) == 1 {
		fb += ": " + Escape(notify.Reason(m.Alerts[0]))
	}
	return blocks, truncateRunes(fb, MaxFallbackText)
}

func alertBlocks(a model.Alert, m notify.Message, multi bool, maxSamples int) []slackapi.Block {
	var bs []slackapi.Block
	if multi {
		bs = append(bs, slackapi.NewDividerBlock(), section("*"+Escape(notify.Headline(a))+"*"))
	}
	if m.Kind == notify.KindTest {
		bs = append(bs, section(":test_tube: *This is a test message.* "+Escape(notify.Reason(a))))
		return bs
	}
	bs = append(bs, section(Escape(notify.Reason(a))))
	var fields []*slackapi.TextBlockObject
	facts := notify.Facts(a)
	for i, f := range facts {
		if i == MaxFields-1 && len(facts) > MaxFields {
			fields = append(fields, mrkdwn(fmt.Sprintf("… and %d more", len(facts)-i)))
			break
		}
		fields = append(fields, mrkdwn(truncateRunes("*"+Escape(f.Label)+"*\n"+Escape(f.Value), MaxFieldText)))
	}
	if len(fields) > 0 {
		bs = append(bs, slackapi.NewSectionBlock(nil, fields, nil))
	}
	samples := notify.Samples(a, maxSamples)
	if len(samples) > 0 {
		var lines []string
		for _, s := range samples {
			line := "> " + Escape(notify.Truncate(oneLine(s.Text), 280)) + "\n— " + Escape(oneLine(s.Author))
			if l := Link(s.URL, "reply"); l != "" {
				line += " · " + l
			}
			if s.Platform != "" {
				line += " · " + Escape(string(s.Platform))
			}
			lines = append(lines, line)
		}
		if more := len(a.Evidence.Samples) - len(samples); more > 0 {
			lines = append(lines, fmt.Sprintf("… and %d more sample(s)", more))
		}
		bs = append(bs, section(joinWithin(lines, "\n", MaxSectionText)))
	}
	var links []string
	if l := Link(a.Evidence.Link, "Full evidence"); l != "" {
		links = append(links, l)
	}
	for i, p := range a.Evidence.Posts {
		if l := Link(p, "Post "+strconv.Itoa(i+1)); l != "" {
			links = append(links, l)
		}
	}
	if len(links) > 0 {
		bs = append(bs, section(joinWithin(links, " · ", MaxSectionText)))
	}
	return bs
}

// joinWithin joins parts with sep, dropping the tail as "… and N more" to
// stay within n characters.
func joinWithin(parts []string, sep string, n int) string {
	var b strings.Builder
	for i, p := range parts {
		tail := fmt.Sprintf("%s… and %d more", sep, len(parts)-i)
		if b.Len() > 0 && len([]rune(b.String()+sep+p))+len([]rune(tail)) > n && i < len(parts)-1 ||
			len([]rune(b.String()+sep+p)) > n {
			b.WriteString(tail)
			return truncateRunes(b.String(), n)
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
	}
	return b.String()
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
}
func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}
func section(s string) slackapi.Block {
	return slackapi.NewSectionBlock(mrkdwn(truncateRunes(s, MaxSectionText)), nil, nil)
}
func contextText(s string) slackapi.Block {
	return slackapi.NewContextBlock("", mrkdwn(s))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "the start"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

var escaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"*", "*"+zeroWidthSpace, "_", "_"+zeroWidthSpace, "~", "~"+zeroWidthSpace, "`", "`"+zeroWidthSpace,
	"@", "@"+zeroWidthSpace, "\r", " ", "\n", " ",
)

var plainReplacer = strings.NewReplacer("<", "‹", ">", "›", "\r", " ", "\n", " ")

// PlainSafe prepares untrusted text for a plain_text object. Slack does not
// parse those, but a header is also what clients show in previews, so angle
// brackets become look-alikes rather than trusting every client to agree.
func PlainSafe(s string) string { return plainReplacer.Replace(s) }

// Escape makes untrusted text inert in mrkdwn (see the package comment).
func Escape(s string) string { return escaper.Replace(s) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Link is a mrkdwn link to an http(s) URL with a label we chose, or "" when
// the URL is not one we will link to.
func Link(raw, label string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	s := u.String() // re-encodes spaces and control characters
	s = strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20", "&", "&amp;").Replace(s)
	return "<" + s + "|" + Escape(label) + ">"
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
