package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const reloadConfig = `store: {path: mpwatch.db}
http: {listen: ""}
watchlists: ["watchlists/*.yaml"]
rule_files: []
`

const oneTarget = `targets:
  - id: jane-doe
    name: Jane Doe
    accounts:
      - {platform: bluesky, handle: janedoe.bsky.social, schedule: "@every 1h"}
`

// eventually polls cond with a generous deadline: this checks that a reload
// happens, not how fast.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestServeReloadsValidEditsAndKeepsOldConfigOnErrors(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "watchlists"), 0o755)
	cfgPath := filepath.Join(dir, "config.yaml")
	wl := filepath.Join(dir, "watchlists", "team.yaml")
	writeFile(t, cfgPath, reloadConfig)
	writeFile(t, wl, oneTarget)
	b, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	a, err := New(context.Background(), b, Options{IO: IO{Stdout: &out, Stderr: &out}, Logger: discard(), NoHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, cfgPath, hup) }()
	targets := func() []string {
		b, _, _, _ := a.current()
		var ids []string
		for _, t := range b.Config.Targets {
			ids = append(ids, t.ID)
		}
		return ids
	}
	eventually(t, "serve to start", func() bool { return !a.ConfigStatus().LoadedAt.IsZero() })

	// a valid edit: a second target appears
	writeFile(t, wl, oneTarget+`  - id: john-roe
    name: John Roe
    accounts:
      - {platform: bluesky, handle: johnroe.bsky.social}
`)
	eventually(t, "the valid edit to apply", func() bool { return len(targets()) == 2 })

	// an invalid edit: rejected with its position, the old config keeps running
	writeFile(t, wl, oneTarget+"  - id: bad\n    nme: typo\n")
	eventually(t, "the invalid edit to be rejected", func() bool { return a.ConfigStatus().LastError != "" })
	msg := a.ConfigStatus().LastError
	if !strings.Contains(msg, "watchlists/team.yaml:7:5: targets[1].nme: unknown key \"nme\" (did you mean \"name\"?)") {
		t.Fatalf("reload error lacks position: %s", msg)
	}
	if got := targets(); len(got) != 2 {
		t.Fatalf("old config not kept: %v", got)
	}

	// fixed, then SIGHUP also reloads
	writeFile(t, wl, oneTarget)
	eventually(t, "the fix to apply", func() bool { return len(targets()) == 1 && a.ConfigStatus().LastError == "" })
	hup <- syscall.SIGHUP
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}
