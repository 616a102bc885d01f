package reload

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deadline is generous: these tests check that a change is noticed at all,
// not how fast; the design target of "within a second" is the debounce plus
// one inotify round trip.
const deadline = 2 * time.Second

type recorder struct {
	n  atomic.Int32
	ch chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 100)} }

func (r *recorder) onChange() {
	r.n.Add(1)
	r.ch <- struct{}{}
}

func (r *recorder) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-r.ch:
	case <-time.After(deadline):
		t.Fatalf("%s: no onChange within %s", what, deadline)
	}
}

// quiet asserts no onChange arrives for a while. It must wait: absence of an
// event cannot be observed any other way.
func (r *recorder) quiet(t *testing.T, what string, d time.Duration) {
	t.Helper()
	select {
	case <-r.ch:
		t.Fatalf("%s: unexpected onChange", what)
	case <-time.After(d):
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, files func() []string, onChange func(), debounce time.Duration) *Watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := Watch(ctx, files, onChange, Options{Debounce: debounce})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-w.Done()
	})
	return w
}

func TestChangesTrigger(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir, cfg string)
	}{
		{"write in place", func(t *testing.T, dir, cfg string) {
			write(t, cfg, "a: 2\n")
		}},
		{"rename over (editor save)", func(t *testing.T, dir, cfg string) {
			tmp := filepath.Join(dir, ".config.yaml.tmp")
			write(t, tmp, "a: 3\n")
			if err := os.Rename(tmp, cfg); err != nil {
				t.Fatal(err)
			}
		}},
		{"remove then create", func(t *testing.T, dir, cfg string) {
			if err := os.Remove(cfg); err != nil {
				t.Fatal(err)
			}
			write(t, cfg, "a: 4\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yaml")
			write(t, cfg, "a: 1\n")
			rec := newRecorder()
			start(t, func() []string { return []string{cfg} }, rec.onChange, 50*time.Millisecond)
			tt.change(t, dir, cfg)
			rec.wait(t, tt.name)
			// A second edit after the first reload must still be seen: the
			// watch survived the rename.
			write(t, cfg, "a: 5\n")
			rec.wait(t, tt.name+", second edit")
		})
	}
}

// TestSymlinkSwapTriggers mimics a Kubernetes ConfigMap update: the watched
// name is a symlink through ..data, and only ..data is replaced.
func TestSymlinkSwapTriggers(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"..v1", "..v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "..v1", "config.yaml"), "a: 1\n")
	write(t, filepath.Join(dir, "..v2", "config.yaml"), "a: 22\n")
	mustSymlink(t, "..v1", filepath.Join(dir, "..data"))
	cfg := filepath.Join(dir, "config.yaml")
	mustSymlink(t, filepath.Join("..data", "config.yaml"), cfg)

	rec := newRecorder()
	start(t, func() []string { return []string{cfg} }, rec.onChange, 50*time.Millisecond)

	mustSymlink(t, "..v2", filepath.Join(dir, "..data_tmp"))
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "symlink swap")
	if b, _ := os.ReadFile(cfg); string(b) != "a: 22\n" {
		t.Fatalf("swap did not take: %q", b)
	}
}

func mustSymlink(t *testing.T, old, new string) {
	t.Helper()
	if err := os.Symlink(old, new); err != nil {
		t.Fatal(err)
	}
}

func TestOtherFilesDoNotTrigger(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	write(t, cfg, "a: 1\n")
	rec := newRecorder()
	start(t, func() []string { return []string{cfg} }, rec.onChange, 50*time.Millisecond)

	write(t, filepath.Join(dir, "notes.txt"), "x")
	write(t, filepath.Join(dir, ".config.yaml.swp"), "x")
	write(t, filepath.Join(dir, "config.yaml~"), "x")
	rec.quiet(t, "unrelated files", 500*time.Millisecond)

	write(t, cfg, "a: 2\n")
	rec.wait(t, "watched file after unrelated ones")
}

func TestBurstIsDebounced(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "config.yaml")
	b := filepath.Join(dir, "rules.yaml")
	write(t, a, "a: 1\n")
	write(t, b, "b: 1\n")
	rec := newRecorder()
	// A long debounce, so the burst below is inside it even on a busy machine.
	start(t, func() []string { return []string{a, b} }, rec.onChange, 400*time.Millisecond)
	for i := 0; i < 5; i++ {
		write(t, a, "a: 2\n")
		write(t, b, "b: 2\n")
	}
	rec.wait(t, "burst")
	rec.quiet(t, "after burst", 800*time.Millisecond)
	if n := rec.n.Load(); n != 1 {
		t.Errorf("onChange ran %d times for one burst, want 1", n)
	}
}

func TestTrigger(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	write(t, cfg, "a: 1\n")
	rec := newRecorder()
	w := start(t, func() []string { return []string{cfg} }, rec.onChange, 20*time.Millisecond)
	w.Trigger()
	w.Trigger() // folds into the first
	rec.wait(t, "trigger")
	rec.quiet(t, "folded trigger", 300*time.Millisecond)
}

func TestFileSetFollowsReload(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	cfg := filepath.Join(dirA, "config.yaml")
	old := filepath.Join(dirA, "old-rules.yaml")
	added := filepath.Join(dirB, "new-rules.yaml")
	for _, f := range []string{cfg, old, added} {
		write(t, f, "x: 1\n")
	}
	var mu sync.Mutex
	set := []string{cfg, old}
	files := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), set...)
	}
	rec := newRecorder()
	w := start(t, files, rec.onChange, 50*time.Millisecond)

	// The edit that makes config.yaml name new-rules.yaml instead of
	// old-rules.yaml; the caller's files() reflects it once it reloads.
	mu.Lock()
	set = []string{cfg, added}
	mu.Unlock()
	write(t, cfg, "rule_files: [new]\n")
	rec.wait(t, "config edit")

	// The file set is read again after onChange returns; wait for it.
	end := time.Now().Add(deadline)
	for !contains(w.Files(), added) {
		if time.Now().After(end) {
			t.Fatalf("watched files %v never included %s", w.Files(), added)
		}
		time.Sleep(10 * time.Millisecond)
	}
	write(t, added, "x: 2\n")
	rec.wait(t, "file added by reload")

	write(t, old, "x: 2\n")
	rec.quiet(t, "file dropped by reload", 400*time.Millisecond)
}

func TestStopsWithContext(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	write(t, cfg, "a: 1\n")
	ctx, cancel := context.WithCancel(context.Background())
	rec := newRecorder()
	w, err := Watch(ctx, func() []string { return []string{cfg} }, rec.onChange, Options{Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-w.Done():
	case <-time.After(deadline):
		t.Fatal("watcher did not stop")
	}
	w.Trigger() // must not block or panic after stop
	write(t, cfg, "a: 2\n")
	rec.quiet(t, "after stop", 200*time.Millisecond)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
