package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpwatch/mpwatch/model"
)

// crashEnv, when set to a database path, turns this test binary into the
// writer child of TestCrashLosesNoCommittedReply.
const crashEnv = "MPWATCH_STORE_CRASH_WRITER"

const crashBatch = 500

func crashReplies(batch int) []model.Reply {
	rs := make([]model.Reply, crashBatch)
	for i := range rs {
		rs[i] = reply(fmt.Sprintf("b%d-%d", batch, i), at(batch).Add(time.Duration(i)*time.Second), fmt.Sprintf("u%d", i%37))
		rs[i].Text = strings.Repeat("crash-safe text ", 10)
	}
	return rs
}

// TestCrashWriterChild is the child: it writes batches until killed and
// prints each batch id right after its commit returned.
func TestCrashWriterChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs only as the child of TestCrashLosesNoCommittedReply")
	}
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	start, _ := strconv.Atoi(os.Getenv(crashEnv + "_START"))
	for b := start; b < start+100000; b++ {
		var err error
		if b%2 == 0 {
			_, err = db.SaveReplies(ctx, crashReplies(b))
		} else {
			_, err = db.SaveCrawl(ctx, model.SourceHealth{SourceKey: "crash", Cursor: strconv.Itoa(b)}, nil, crashReplies(b))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "%d\n", b) // os.Stdout is unbuffered
	}
	os.Exit(0)
}

func TestCrashLosesNoCommittedReply(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	// The same file is killed three times: right after an acknowledgement
	// (inside the next batch's transaction) and at staggered delays, which
	// land at other points of a batch (binding, commit, checkpoint).
	for round, kill := range []struct {
		after int
		delay time.Duration
	}{{3, 0}, {8, 700 * time.Microsecond}, {5, 3 * time.Millisecond}} {
		killAfter := kill.after
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriterChild$", "-test.count=1")
		// each round writes new batches into the database the last
		// round's kill left behind
		cmd.Env = append(os.Environ(), crashEnv+"="+path, fmt.Sprintf("%s_START=%d", crashEnv, round*1000000))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var acked []int
		for sc.Scan() {
			b, err := strconv.Atoi(sc.Text())
			if err != nil {
				continue // test framework chatter
			}
			acked = append(acked, b)
			if len(acked) == killAfter {
				time.Sleep(kill.delay)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child was not killed by SIGKILL: %v", round, err)
		}
		if len(acked) < killAfter {
			t.Fatalf("round %d: child acknowledged only %v", round, acked)
		}

		ctx := context.Background()
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		if acked[0] != round*1000000 {
			t.Fatalf("round %d: child started at batch %d", round, acked[0])
		}
		var check string
		if err := db.SQL().QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check %q, err %v", round, check, err)
		}
		for _, b := range acked {
			var keys []string
			for _, r := range crashReplies(b) {
				keys = append(keys, r.Key())
			}
			got, err := db.RepliesByKeys(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != crashBatch {
				t.Errorf("round %d: batch %d acknowledged but %d of %d replies stored", round, b, len(got), crashBatch)
			}
		}
		// the cursor never runs ahead of the replies it covers
		h, ok, err := db.SourceHealth(ctx, "crash")
		if err != nil || !ok {
			t.Fatalf("round %d: source health: ok %v err %v", round, ok, err)
		}
		cb, _ := strconv.Atoi(h.Cursor)
		if r, ok, _ := db.Reply(ctx, crashReplies(cb)[crashBatch-1].Key()); !ok || r.ID == "" {
			t.Errorf("round %d: cursor %s stored without its batch's replies", round, h.Cursor)
		}
		// a batch is all or nothing, acknowledged or not
		var n int
		if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM replies`).Scan(&n); err != nil || n%crashBatch != 0 {
			t.Errorf("round %d: %d replies, not whole batches (err %v)", round, n, err)
		}
		t.Logf("round %d: %d batches acknowledged, %d replies stored", round, len(acked), n)
		db.Close()
	}
}
