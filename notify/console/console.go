// Package console writes notify messages as readable text, one block per
// message, to a writer (stdout by default). Untrusted text has control
// characters (terminal escape sequences, carriage returns, bidi overrides)
// replaced, and each field is kept on one line, so a reply cannot rewrite
// the operator's terminal or forge lines of output.
package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"

	"github.com/mpwatch/mpwatch/notify"
)

// Notifier writes to one writer; safe for concurrent use.
type Notifier struct {
	mu sync.Mutex
	w  io.Writer
}

// New writes to w, or stdout when w is nil.
func New(w io.Writer) *Notifier {
	if w == nil {
		w = os.Stdout
	}
	return &Notifier{w: w}
}

// Notify writes the message.
func (n *Notifier) Notify(_ context.Context, m notify.Message) (notify.Receipt, error) {
	text := Render(m)
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := io.WriteString(n.w, text); err != nil {
		return notify.Receipt{}, fmt.Errorf("write to console: %w", err)
	}
	return notify.Receipt{}, nil
}

// Render is the text form of a message.
func Render(m notify.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "=== %s\n", Clean(notify.Title(m)))
	if m.Kind == notify.KindDigest {
		fmt.Fprintf(&b, "    from %s to %s\n", m.From.UTC().Format("2006-01-02 15:04"), m.To.UTC().Format("2006-01-02 15:04 UTC"))
	}
	for _, a := range m.Alerts {
		if len(m.Alerts) > 1 {
			fmt.Fprintf(&b, "--- %s\n", Clean(notify.Headline(a)))
		}
		fmt.Fprintf(&b, "    %s\n", Clean(notify.Reason(a)))
		for _, f := range notify.Facts(a) {
			fmt.Fprintf(&b, "    %-16s %s\n", Clean(f.Label)+":", Clean(f.Value))
		}
		for _, s := range notify.Samples(a, 5) {
			fmt.Fprintf(&b, "    > %s\n      — %s %s\n", Clean(notify.Truncate(s.Text, 280)), Clean(s.Author), Clean(s.URL))
		}
		if a.Evidence.Link != "" {
			fmt.Fprintf(&b, "    Evidence: %s\n", Clean(a.Evidence.Link))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// Clean replaces control and format characters and folds whitespace runs
// (including newlines) to single spaces.
func Clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
