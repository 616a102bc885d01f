// Package fakeplatform serves in-process fakes of the platforms mpwatch
// crawls: a Mastodon-API server (Mastodon or GoToSocial flavour), a Bluesky
// AppView, and a plain web site with feeds, comment pages and robots.txt.
// Data is added at run time through thread-safe methods; responses follow the
// real APIs' shapes, pagination and headers; faults (status codes, delays,
// slow or truncated bodies, redirect loops) can be injected per path.
// Servers listen on 127.0.0.1 only (httptest). They back the crawler's tests,
// the end-to-end test and `monitor demo`.
package fakeplatform

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault changes the answer to requests whose path starts with Path.
type Fault struct {
	Path        string // path prefix; "" matches every request
	Status      int    // status to answer with (0: 200)
	Body        string
	ContentType string
	Header      http.Header
	// Delay waits before the headers are sent (a timeout from the client's
	// point of view if it is long enough).
	Delay time.Duration
	// SlowBody sends the body one byte per SlowBody interval.
	SlowBody time.Duration
	// Truncate announces a Content-Length longer than the body and closes
	// the connection early.
	Truncate bool
	// RedirectLoop answers 302 to the same URL.
	RedirectLoop bool
	// Times is how many requests the fault applies to; 0 means all.
	Times int
}

// faults is the fault table every fake embeds.
type faults struct {
	mu    sync.Mutex
	list  []*Fault
	count map[string]int // requests by path
}

// Inject adds a fault. Faults are checked in the order they were added.
func (f *faults) Inject(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := ft
	f.list = append(f.list, &c)
}

// ClearFaults removes all injected faults.
func (f *faults) ClearFaults() {
	f.mu.Lock()
	f.list = nil
	f.mu.Unlock()
}

// Requests reports how many requests were made to paths starting with prefix.
func (f *faults) Requests(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for p, c := range f.count {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

func (f *faults) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if f.count == nil {
			f.count = map[string]int{}
		}
		f.count[r.URL.Path]++
		var hit *Fault
		for i, ft := range f.list {
			if strings.HasPrefix(r.URL.Path, ft.Path) {
				c := *ft
				hit = &c
				if ft.Times > 0 {
					ft.Times--
					if ft.Times == 0 {
						f.list = append(f.list[:i:i], f.list[i+1:]...)
					}
				}
				break
			}
		}
		f.mu.Unlock()
		if hit == nil {
			next.ServeHTTP(w, r)
			return
		}
		serveFault(w, r, hit)
	})
}

func serveFault(w http.ResponseWriter, r *http.Request, ft *Fault) {
	if ft.Delay > 0 {
		select {
		case <-time.After(ft.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range ft.Header {
		w.Header()[k] = v
	}
	if ft.RedirectLoop {
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
		return
	}
	ct := ft.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	status := ft.Status
	if status == 0 {
		status = http.StatusOK
	}
	if ft.Truncate {
		w.Header().Set("Content-Length", strconv.Itoa(len(ft.Body)+100))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(ft.Body))
		// Hijack-free early close: panicking with ErrAbortHandler makes the
		// server drop the connection without finishing the body.
		panic(http.ErrAbortHandler)
	}
	if ft.SlowBody > 0 {
		w.WriteHeader(status)
		fl, _ := w.(http.Flusher)
		for i := 0; i < len(ft.Body); i++ {
			if _, err := w.Write([]byte{ft.Body[i]}); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-time.After(ft.SlowBody):
			case <-r.Context().Done():
				return
			}
		}
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(ft.Body))
}
