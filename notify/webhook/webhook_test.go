package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/webhook"
)

var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func TestPostsMachineForm(t *testing.T) {
	var raw []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	n := webhook.New(notify.WebhookConfig{URL: yamlx.Secret{Secret: model.Secret(srv.URL)}}, webhook.Options{Now: func() time.Time { return t0 }})
	a := model.Alert{Key: "k", Seq: 2, Rule: "r", Status: model.StatusUpdated, Summary: "<script>x</script>", ReplyIDs: []string{"mastodon:1", "bluesky:at://x"}}
	if _, err := n.Notify(context.Background(), notify.Message{ID: "9", Kind: notify.KindAlert, Receiver: "hook", GroupKey: "g", Alerts: []model.Alert{a}}); err != nil {
		t.Fatal(err)
	}
	var p webhook.Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != "1" || p.ID != "9" || p.Kind != notify.KindAlert || len(p.Alerts) != 1 || p.Alerts[0].EventID() != "k#2" ||
		len(p.Alerts[0].ReplyIDs) != 2 || !p.SentAt.Equal(t0) || p.Alerts[0].Summary != "<script>x</script>" {
		t.Fatalf("payload %+v", p)
	}
	if strings.Contains(string(raw), "<script>") {
		t.Fatal("angle brackets not escaped in JSON")
	}
}

func TestStatusClasses(t *testing.T) {
	tests := []struct {
		status     int
		header     string
		permanent  bool
		retryAfter time.Duration
	}{
		{200, "", false, 0},
		{204, "", false, 0},
		{429, "12", false, 12 * time.Second},
		{503, t0.Add(time.Minute).Format(http.TimeFormat), false, time.Minute},
		{500, "", false, 0},
		{400, "", true, 0},
		{401, "", true, 0},
		{404, "", true, 0},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.header != "" {
				w.Header().Set("Retry-After", tt.header)
			}
			w.WriteHeader(tt.status)
		}))
		n := webhook.New(notify.WebhookConfig{URL: yamlx.Secret{Secret: model.Secret(srv.URL + "/secret-token")}}, webhook.Options{Now: func() time.Time { return t0 }})
		_, err := n.Notify(context.Background(), notify.Message{})
		srv.Close()
		if tt.status < 300 {
			if err != nil {
				t.Errorf("%d: %v", tt.status, err)
			}
			continue
		}
		if notify.IsPermanent(err) != tt.permanent {
			t.Errorf("%d: permanent=%v (%v)", tt.status, notify.IsPermanent(err), err)
		}
		var re *notify.RetryableError
		if !tt.permanent && (!errors.As(err, &re) || re.RetryAfter != tt.retryAfter) {
			t.Errorf("%d: retry %+v", tt.status, re)
		}
		if strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%d: URL in error %v", tt.status, err)
		}
	}
}

func TestUnreachableIsRetriedWithoutURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=secret-token"
	srv.Close()
	_, err := webhook.New(notify.WebhookConfig{URL: yamlx.Secret{Secret: model.Secret(url)}}, webhook.Options{}).Notify(context.Background(), notify.Message{})
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("err %v", err)
	}
}
