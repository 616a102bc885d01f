package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/console"
)

func TestRendersReadableTextWithoutControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	n := console.New(&buf)
	t0 := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	a := model.Alert{Key: "k", Seq: 1, Rule: "spike-volume", Severity: model.SeverityWarning, Status: model.StatusFiring,
		Targets: []string{"mp-a"}, WindowStart: t0.Add(-time.Hour), WindowEnd: t0,
		Evidence: model.Evidence{Reason: "Replies doubled.\x1b[2J\x1b[31mFAKE ALERT\rcleared\u202eevil", Count: 40, Baseline: 20,
			Samples: []model.Sample{{Text: "line one\nline two", Author: "bob", URL: "https://s.example/1"}}}}
	if _, err := n.Notify(context.Background(), notify.Message{Kind: notify.KindAlert, Alerts: []model.Alert{a}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"=== WARNING · spike-volume · mp-a\n", "Count:           40 vs baseline 20", "> line one line two", "— bob https://s.example/1"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	for _, bad := range []string{"\x1b", "\r", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("control character %q written", bad)
		}
	}
}
