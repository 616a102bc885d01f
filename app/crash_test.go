package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/crawler"
	"github.com/mpwatch/mpwatch/crawler/mastodon"
	"github.com/mpwatch/mpwatch/model"
	"github.com/mpwatch/mpwatch/store"

	"github.com/mpwatch/mpwatch/internal/fakeplatform"
)

// TestCrashChild is the process the crash test kills: it crawls the
// simulated server named in the environment again and again, as `monitor
// run` would, printing a line after each cycle.
func TestCrashChild(t *testing.T) {
	cfg := os.Getenv("MPWATCH_CRASH_CONFIG")
	if cfg == "" {
		t.Skip("helper process for TestKilledWhileCrawlingLosesNothing")
	}
	b, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), b, Options{IO: IO{Stdout: io.Discard, Stderr: io.Discard}, Logger: discard(), NoHTTP: true,
		Sources: func(c *crawler.Client) map[model.Platform]crawler.Source {
			return map[model.Platform]crawler.Source{model.Mastodon: mastodon.New(c, mastodon.Options{Scheme: "http", MaxPages: 100})}
		},
		ClientOptions: func(o *crawler.Options) { o.NoDelay = true }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := a.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("cycle %d\n", i)
	}
}

// TestKilledWhileCrawlingLosesNothing kills a crawling process with SIGKILL
// while replies keep arriving, then restarts on the same database: the
// database is intact, and after one more cycle every reply on the server is
// stored exactly once (nothing committed was lost, no cursor ran ahead of
// its replies).
func TestKilledWhileCrawlingLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	now := time.Now().UTC()
	m := fakeplatform.NewMastodon(fakeplatform.MastodonOptions{})
	defer m.Close()
	m.AddAccount(fakeplatform.MastodonAccount{Username: "mp", CreatedAt: now.AddDate(-2, 0, 0)})
	var posts []string
	for i := 0; i < 10; i++ {
		posts = append(posts, m.AddStatus("mp", now.Add(-time.Duration(10-i)*time.Hour), fmt.Sprintf("<p>post %d</p>", i)))
	}
	users := 0
	total := 0
	addReplies := func(n int) {
		for i := 0; i < n; i++ {
			users++
			u := fmt.Sprintf("user%d", users)
			m.AddAccount(fakeplatform.MastodonAccount{Username: u, CreatedAt: now.AddDate(-1, 0, 0)})
			m.AddReply(posts[users%len(posts)], u, now.Add(-time.Duration(users%50)*time.Minute), fmt.Sprintf("<p>reply number %d</p>", users))
			total++
		}
	}
	addReplies(200)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, fmt.Sprintf(`store: {path: mpwatch.db}
http: {listen: ""}
watchlists: []
rule_files: []
crawler: {delay: 0s, random_delay: 0s}
targets:
  - id: mp
    name: The MP
    accounts:
      - {platform: mastodon, handle: "@mp@%s"}
`, m.Host()))

	cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "MPWATCH_CRASH_CONFIG="+cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	cycles := 0
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "cycle ") {
			cycles++
			addReplies(150) // more keep arriving while it crawls
			if cycles == 3 {
				// kill it in the middle of the next cycle's writes
				time.Sleep(15 * time.Millisecond)
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if cycles < 3 {
		t.Fatalf("child finished %d cycles before the kill\n%s", cycles, stderr.String())
	}

	// the database is intact
	db, err := store.Open(context.Background(), filepath.Join(dir, "mpwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.SQL().QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	db.Close()

	// restart: one more cycle stores everything, each reply once
	b, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), b, Options{IO: IO{Stdout: io.Discard, Stderr: io.Discard}, Logger: discard(), NoHTTP: true,
		Sources: func(c *crawler.Client) map[model.Platform]crawler.Source {
			return map[model.Platform]crawler.Source{model.Mastodon: mastodon.New(c, mastodon.Options{Scheme: "http", MaxPages: 100})}
		},
		ClientOptions: func(o *crawler.Options) { o.NoDelay = true }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	err = a.DB().ScanReplies(context.Background(), time.Time{}, now.Add(time.Hour), func(r model.Reply) error {
		seen[r.Text]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("stored %d distinct replies after restart, the server has %d", len(seen), total)
	}
	for text, n := range seen {
		if n != 1 {
			t.Fatalf("%q stored %d times", text, n)
		}
	}
}
