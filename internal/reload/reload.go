package reload

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is long enough to fold one editor save (often three or four
// events) into one reload and short enough that a reload feels immediate.
const DefaultDebounce = 200 * time.Millisecond

// Options tune a Watcher.
type Options struct {
	// Debounce is the quiet time after the last event before onChange runs;
	// zero means DefaultDebounce.
	Debounce time.Duration
	Logger   *slog.Logger
}

// Watcher watches a set of files until its context ends.
type Watcher struct {
	fs       *fsnotify.Watcher
	files    func() []string
	onChange func()
	debounce time.Duration
	log      *slog.Logger
	trigger  chan struct{}
	done     chan struct{}

	mu   sync.Mutex
	want map[string]bool // absolute, cleaned file paths
	dirs map[string]bool // directories currently watched
	seen map[string]stamp
}

// stamp identifies a file's content cheaply: which file it is (through
// symlinks) and its size and modification time.
type stamp struct {
	info os.FileInfo // nil when the file is missing
}

func (a stamp) same(b stamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

// Watch starts watching the files named by files() and calls onChange after
// each debounced burst of changes, until ctx is done. A directory that cannot
// be watched (for example because it does not exist yet) is logged and
// skipped; it is tried again after the next change.
func Watch(ctx context.Context, files func() []string, onChange func(), opts Options) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("start file watcher: %w", err)
	}
	w := &Watcher{
		fs:       fw,
		files:    files,
		onChange: onChange,
		debounce: opts.Debounce,
		log:      opts.Logger,
		trigger:  make(chan struct{}, 1),
		done:     make(chan struct{}),
		want:     map[string]bool{},
		dirs:     map[string]bool{},
		seen:     map[string]stamp{},
	}
	if w.debounce <= 0 {
		w.debounce = DefaultDebounce
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.refresh()
	go w.loop(ctx)
	return w, nil
}

// Trigger asks for an onChange call as if a file had changed (SIGHUP). It
// never blocks; triggers that arrive before the pending one is handled fold
// into it.
func (w *Watcher) Trigger() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Done is closed once the watcher has stopped and released its watches.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Files returns the absolute paths currently watched for, for diagnostics.
func (w *Watcher) Files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.want))
	for f := range w.want {
		out = append(out, f)
	}
	return out
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	defer w.fs.Close()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	pending := false
	arm := func() {
		timer.Reset(w.debounce)
		pending = true
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if w.relevant(ev) {
				w.log.Debug("config file changed", "file", ev.Name, "op", ev.Op.String())
				arm()
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.log.Warn("config file watcher error", "error", err)
		case <-w.trigger:
			w.log.Debug("config reload triggered")
			arm()
		case <-timer.C:
			if !pending {
				continue
			}
			pending = false
			w.onChange()
			w.refresh()
		}
	}
}

// relevant reports whether ev touches one of the watched files. Chmod alone is
// ignored: touch and backup tools change modes without changing content.
//
// An event on another name in a watched directory still counts if one of the
// watched files now resolves to different content: Kubernetes mounts a
// ConfigMap as config.yaml -> ..data/config.yaml and updates it by swapping
// the ..data symlink, so the only events are on ..data.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name, err := filepath.Abs(ev.Name)
	if err != nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.want[filepath.Clean(name)] {
		return true
	}
	changed := false
	for f := range w.want {
		st := statFile(f)
		if !st.same(w.seen[f]) {
			changed = true
			w.seen[f] = st
		}
	}
	return changed
}

func statFile(path string) stamp {
	fi, err := os.Stat(path) // follows symlinks, which is the point
	if err != nil {
		return stamp{}
	}
	return stamp{info: fi}
}

// refresh reads the file set again and moves the directory watches to match.
func (w *Watcher) refresh() {
	want := map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range w.files() {
		abs, err := filepath.Abs(f)
		if err != nil {
			w.log.Warn("cannot resolve config file path", "file", f, "error", err)
			continue
		}
		abs = filepath.Clean(abs)
		want[abs] = true
		dirs[filepath.Dir(abs)] = true
	}

	seen := make(map[string]stamp, len(want))
	for f := range want {
		seen[f] = statFile(f)
	}
	w.mu.Lock()
	old := w.dirs
	w.want = want
	w.seen = seen
	w.mu.Unlock()

	kept := map[string]bool{}
	for d := range dirs {
		if old[d] {
			kept[d] = true
			continue
		}
		if err := w.fs.Add(d); err != nil {
			w.log.Warn("cannot watch config directory", "dir", d, "error", err)
			continue
		}
		kept[d] = true
	}
	for d := range old {
		if !dirs[d] {
			if err := w.fs.Remove(d); err != nil {
				w.log.Debug("unwatch config directory", "dir", d, "error", err)
			}
		}
	}
	w.mu.Lock()
	w.dirs = kept
	w.mu.Unlock()
}
