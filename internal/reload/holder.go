package reload

import (
	"sync"
	"time"
)

// Holder keeps the running configuration and swaps it only for one that
// loaded and validated completely: a failed load leaves the old value in
// place and records the error, so a typo in one watchlist never stops the
// crawl of the others.
type Holder[T any] struct {
	now func() time.Time

	mu          sync.RWMutex
	cur         T
	loaded      bool
	loadedAt    time.Time
	files       []string
	lastAttempt time.Time
	lastErr     error
}

// Status describes the running value and the last load attempt.
type Status struct {
	Loaded      bool
	LoadedAt    time.Time // when the running value was applied
	Files       []string  // the files it was read from
	LastAttempt time.Time
	LastError   error // nil when the last attempt succeeded
}

// NewHolder returns an empty Holder; now nil means time.Now.
func NewHolder[T any](now func() time.Time) *Holder[T] {
	if now == nil {
		now = time.Now
	}
	return &Holder[T]{now: now}
}

// Load runs load and, only if it succeeds, makes its value current. load
// returns the new value and the files it read (which the watcher then
// follows). The error, if any, is returned and kept for Status.
func (h *Holder[T]) Load(load func() (T, []string, error)) error {
	v, files, err := load()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastAttempt = h.now()
	h.lastErr = err
	if err != nil {
		return err
	}
	h.cur, h.loaded, h.loadedAt = v, true, h.lastAttempt
	h.files = append([]string(nil), files...)
	return nil
}

// Current returns the running value (the zero T before the first successful
// Load) and whether there is one.
func (h *Holder[T]) Current() (T, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cur, h.loaded
}

// Files returns the files of the running value, or nil; pass it as Watch's
// files function.
func (h *Holder[T]) Files() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append([]string(nil), h.files...)
}

// Status reports the running value's origin and the last attempt.
func (h *Holder[T]) Status() Status {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return Status{Loaded: h.loaded, LoadedAt: h.loadedAt, Files: append([]string(nil), h.files...),
		LastAttempt: h.lastAttempt, LastError: h.lastErr}
}
