package web

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromiumBinary finds Debian's chromium. Without it the browser check skips,
// except in CI (CI=true), where a missing browser must fail the build.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (apt-get install -y chromium); the browser check is required in CI")
	}
	t.Skip("chromium not found; install it (apt-get install -y chromium) to run the browser check")
	return ""
}

func chromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestPagesRenderInChromium loads the status and evidence pages, served with
// hostile fixture data, in a real headless browser and checks the DOM the
// browser built: the charts and alert rows are there, and none of the hostile
// strings became an element or attribute.
//
// Set MPWATCH_SCREENSHOTS=<dir> to also save phone-sized screenshots
// (MPWATCH_SCREENSHOT_SIZE=w,h to change the window).
func TestPagesRenderInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser check skipped in -short mode")
	}
	bin := chromiumBinary(t)
	ts := httptest.NewServer(newTestServer(fixture(), nil).Handler()) // listens on 127.0.0.1
	defer ts.Close()

	pages := []struct {
		name      string
		path      string
		svgs      int
		alertRows int
		replies   int
		texts     []string
	}{
		{"status", "/", 2, 2, 0, []string{hostileScript + " Bob", "Reply spike on Jane Doe " + hostileSVG, "HTTP 502 " + hostileImg}},
		{"evidence", alertPath(spikeKey), 1, 0, 4, []string{"You are a disgrace " + hostileScript, hostileImg, hostileURL, "line two " + hostileSVG}},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			out := chromium(t, bin, "--dump-dom", ts.URL+p.path)
			d := parseDOM(t, out)
			assertNoInjection(t, d, p.svgs)
			if n := len(d.elems("tr", "alert-row")); n != p.alertRows {
				t.Errorf("%d alert rows in the browser DOM, want %d", n, p.alertRows)
			}
			if n := len(d.elems("li", "reply")); n != p.replies {
				t.Errorf("%d replies in the browser DOM, want %d", n, p.replies)
			}
			for _, svg := range d.elems("svg", "") {
				if n := len((dom{svg}).elems("rect", "bar")); n == 0 {
					t.Error("chart without bars in the browser DOM")
				}
			}
			body := d.bodyText()
			for _, s := range p.texts {
				if !strings.Contains(body, s) {
					t.Errorf("browser DOM text lacks %q", s)
				}
			}
			if dir := os.Getenv("MPWATCH_SCREENSHOTS"); dir != "" {
				file, err := filepath.Abs(filepath.Join(dir, p.name+".png"))
				if err != nil {
					t.Fatal(err)
				}
				size := os.Getenv("MPWATCH_SCREENSHOT_SIZE") // e.g. 412,2400 to see a whole page
				if size == "" {
					size = "412,915" // a phone
				}
				chromium(t, bin, "--hide-scrollbars", "--window-size="+size, "--screenshot="+file, ts.URL+p.path)
				t.Logf("screenshot %s", file)
			}
		})
	}
}
