package reload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/internal/yamlx"
)

// testConfig stands in for the real configuration: strict YAML through
// yamlx, so an invalid edit fails with file:line:col like the real loader.
type testConfig struct {
	Schedule string   `yaml:"schedule"`
	Targets  []string `yaml:"targets"`
}

func loadTestConfig(path string) func() (testConfig, []string, error) {
	return func() (testConfig, []string, error) {
		var c testConfig
		data, err := os.ReadFile(path)
		if err != nil {
			return c, nil, err
		}
		doc, err := yamlx.Parse(path, data)
		if err != nil {
			return c, nil, err
		}
		if err := doc.Decode(&c); err != nil {
			return c, nil, err
		}
		return c, []string{path}, nil
	}
}

// TestValidEditAppliesInvalidEditIsRejected is the hot-reload contract end
// to end: watcher + holder + strict loader.
func TestValidEditAppliesInvalidEditIsRejected(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	write(t, cfg, "schedule: '@every 5m'\ntargets: [a, b]\n")

	h := NewHolder[testConfig](nil)
	load := loadTestConfig(cfg)
	if err := h.Load(load); err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := Watch(ctx, h.Files, func() { results <- h.Load(load) }, Options{Debounce: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-w.Done() }()
	next := func(what string) error {
		t.Helper()
		select {
		case err := <-results:
			return err
		case <-time.After(deadline):
			t.Fatalf("%s: no reload within %s", what, deadline)
			return nil
		}
	}

	// A valid edit: a schedule change and a removed target apply.
	write(t, cfg, "schedule: '@every 1m'\ntargets: [a]\n")
	if err := next("valid edit"); err != nil {
		t.Fatalf("valid edit rejected: %v", err)
	}
	cur, _ := h.Current()
	if cur.Schedule != "@every 1m" || len(cur.Targets) != 1 {
		t.Errorf("after valid edit: %+v", cur)
	}

	// An invalid edit: an unknown key on line 2. Rejected with its position;
	// the previous configuration keeps running.
	write(t, cfg, "schedule: '@every 10s'\ntargetz: [a, b, c]\n")
	err = next("invalid edit")
	if err == nil {
		t.Fatal("invalid edit accepted")
	}
	if !strings.Contains(err.Error(), cfg+":2:1") {
		t.Errorf("error %q does not point at %s:2:1", err, cfg)
	}
	cur, ok := h.Current()
	if !ok || cur.Schedule != "@every 1m" || len(cur.Targets) != 1 {
		t.Errorf("old config not kept: %+v", cur)
	}
	st := h.Status()
	if st.LastError == nil || st.LastAttempt.Before(st.LoadedAt) || st.LastError.Error() != err.Error() {
		t.Errorf("status %+v", st)
	}

	// Fixing the file applies again and clears the error.
	write(t, cfg, "schedule: '@every 10s'\ntargets: [a, b, c]\n")
	if err := next("fix"); err != nil {
		t.Fatalf("fixed file rejected: %v", err)
	}
	if cur, _ := h.Current(); cur.Schedule != "@every 10s" || len(cur.Targets) != 3 {
		t.Errorf("after fix: %+v", cur)
	}
	if h.Status().LastError != nil {
		t.Error("error not cleared after a good reload")
	}
}

func TestHolderBeforeFirstLoad(t *testing.T) {
	h := NewHolder[testConfig](func() time.Time { return time.Unix(100, 0) })
	if _, ok := h.Current(); ok {
		t.Error("empty holder reports a value")
	}
	boom := errors.New("boom")
	if err := h.Load(func() (testConfig, []string, error) { return testConfig{Schedule: "x"}, []string{"f"}, boom }); err != boom {
		t.Errorf("Load returned %v", err)
	}
	if _, ok := h.Current(); ok {
		t.Error("failed first load became current")
	}
	st := h.Status()
	if st.Loaded || st.LastAttempt != time.Unix(100, 0) || st.LastError != boom || st.Files != nil {
		t.Errorf("status %+v", st)
	}
}
