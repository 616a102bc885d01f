package email_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/notify"
	"github.com/mpwatch/mpwatch/notify/email"
)

var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

// mailpitBinary finds Mailpit on PATH or in $(go env GOPATH)/bin.
func mailpitBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "mailpit")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	msg := "mailpit is not installed (go install github.com/axllent/mailpit@v1.33.1); the SMTP test needs a real server"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type mailpit struct {
	api  string
	smtp int
}

func startMailpit(t *testing.T) mailpit {
	bin := mailpitBinary(t)
	httpPort, smtpPort := freePort(t), freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort), "--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort),
		"--database", filepath.Join(dir, "mailpit.db"), "--disable-version-check", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	logf, _ := os.Create(filepath.Join(dir, "mailpit.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	m := mailpit{api: fmt.Sprintf("http://127.0.0.1:%d", httpPort), smtp: smtpPort}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(m.api + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return m
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "mailpit.log"))
			t.Fatalf("mailpit not ready: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m mailpit) get(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(m.api + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

type mpMessage struct {
	ID, MessageID, Subject, Text, HTML string
	To, Bcc, Cc                        []struct{ Address string }
}

// bySubjectPrefix returns the messages, oldest first, with their headers.
func (m mailpit) messages(t *testing.T) ([]mpMessage, []map[string][]string) {
	var list struct {
		Messages []struct{ ID string }
	}
	m.get(t, "/api/v1/messages", &list)
	var out []mpMessage
	var hdrs []map[string][]string
	for i := len(list.Messages) - 1; i >= 0; i-- {
		var msg mpMessage
		m.get(t, "/api/v1/message/"+list.Messages[i].ID, &msg)
		var h map[string][]string
		m.get(t, "/api/v1/message/"+list.Messages[i].ID+"/headers", &h)
		out = append(out, msg)
		hdrs = append(hdrs, h)
	}
	return out, hdrs
}

func hostileAlert() model.Alert {
	return model.Alert{
		Key: "spike:mp-a", Seq: 1, Rule: "spike-volume", Type: "spike", Severity: model.SeverityHigh, Status: model.StatusFiring,
		Targets:   []string{"mp-a\r\nBcc: victim@example.org"},
		Platforms: []model.Platform{model.Mastodon}, WindowStart: t0.Add(-time.Hour), WindowEnd: t0,
		Summary: "spike", Evidence: model.Evidence{
			Reason: `Replies tripled <script>alert("x")</script> in an hour.`, Count: 120, Baseline: 14,
			Link: "https://mpwatch.example.org/alerts/spike:mp-a",
			Samples: []model.Sample{
				{Text: `<img src=x onerror=alert(1)> vote them out`, Author: `</blockquote><a href="https://evil.example">admin</a>`, URL: "javascript:alert(1)"},
				{Text: "a fair question about the budget", Author: "citizen", URL: "https://social.example/@c/1"},
			},
		},
	}
}

func TestMailpitMultipartThreadingAndEscaping(t *testing.T) {
	mp := startMailpit(t)
	n := email.New(notify.EmailConfig{Host: "127.0.0.1", Port: mp.smtp, TLS: "none", Username: "mpwatch", Password: yamlx.Secret{Secret: "pw"},
		From: "mpwatch <alerts@mpwatch.example.org>", To: []string{"comms@example.org"}}, email.Options{Now: func() time.Time { return t0 }})
	ctx := context.Background()
	first := hostileAlert()
	rec, err := n.Notify(ctx, notify.Message{ID: "41", Kind: notify.KindAlert, Receiver: "mail", GroupKey: "g", Alerts: []model.Alert{first}, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.Thread, "mpwatch.41.") || !strings.HasSuffix(rec.Thread, "@mpwatch.example.org") {
		t.Fatalf("receipt %q", rec.Thread)
	}
	resolved := hostileAlert()
	resolved.Seq, resolved.Status = 2, model.StatusResolved
	rec2, err := n.Notify(ctx, notify.Message{ID: "42", Kind: notify.KindAlert, Receiver: "mail", GroupKey: "g", Alerts: []model.Alert{resolved}, Thread: rec.Thread, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if rec2.Thread != rec.Thread {
		t.Fatalf("thread moved: %q", rec2.Thread)
	}
	if _, err := n.Notify(ctx, notify.TestMessage("mail", t0)); err != nil {
		t.Fatal(err)
	}
	msgs, hdrs := mp.messages(t)
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	m1, m2 := msgs[0], msgs[1]
	if m1.Subject != "[mpwatch] HIGH · spike-volume · mp-a Bcc: victim@example.org" {
		t.Errorf("subject %q", m1.Subject)
	}
	if m2.Subject != "[mpwatch] RESOLVED: HIGH · spike-volume · mp-a Bcc: victim@example.org" {
		t.Errorf("subject %q", m2.Subject)
	}
	for i, h := range hdrs {
		if len(h["Bcc"]) > 0 || len(msgs[i].Bcc) > 0 || len(msgs[i].Cc) > 0 || len(msgs[i].To) != 1 || msgs[i].To[0].Address != "comms@example.org" {
			t.Errorf("message %d: header injection: %v %+v", i, h["Bcc"], msgs[i])
		}
	}
	if m1.MessageID != rec.Thread {
		t.Errorf("Message-ID %q, receipt %q", m1.MessageID, rec.Thread)
	}
	if got := hdrs[1]["In-Reply-To"]; len(got) != 1 || got[0] != "<"+rec.Thread+">" {
		t.Errorf("In-Reply-To %q", got)
	}
	if got := hdrs[1]["References"]; len(got) != 1 || got[0] != "<"+rec.Thread+">" {
		t.Errorf("References %q", got)
	}
	if len(hdrs[0]["In-Reply-To"]) != 0 {
		t.Errorf("first mail replies to %q", hdrs[0]["In-Reply-To"])
	}
	ct := strings.Join(hdrs[0]["Content-Type"], " ")
	if !strings.Contains(ct, "multipart/alternative") {
		t.Errorf("content type %q", ct)
	}
	if m1.Text == "" || !strings.Contains(m1.Text, "Replies tripled") || !strings.Contains(m1.Text, "120 vs baseline 14") {
		t.Errorf("text part:\n%s", m1.Text)
	}
	for _, bad := range []string{"<script", "<img", "onerror=alert(1)>", `href="https://evil.example"`, "javascript:", "</blockquote><a"} {
		if strings.Contains(m1.HTML, bad) {
			t.Errorf("HTML carries %q:\n%s", bad, m1.HTML)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", `href="https://mpwatch.example.org/alerts/spike:mp-a"`, `href="https://social.example/@c/1"`} {
		if !strings.Contains(m1.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m1.HTML)
		}
	}
	if !strings.Contains(msgs[2].Subject, "[TEST]") || !strings.Contains(msgs[2].Text, "THIS IS A TEST MESSAGE") {
		t.Errorf("test message %q\n%s", msgs[2].Subject, msgs[2].Text)
	}
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	n := email.New(notify.EmailConfig{Host: "127.0.0.1", Port: freePort(t), TLS: "none", From: "a@b.example", To: []string{"c@d.example"},
		Timeout: yamlx.Duration(2 * time.Second)}, email.Options{})
	_, err := n.Notify(context.Background(), notify.Message{Alerts: []model.Alert{hostileAlert()}})
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("connection refused should be retried: %v", err)
	}
}
