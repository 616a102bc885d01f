// Command quality is the detection quality benchmark: real organic replies
// with generated campaigns mixed in, through the default rules (or --rules),
// printing campaign recall, alert precision, false alerts per 100,000
// organic replies and detection latency; then a sweep of the real YouTube
// spam collection, whose copy-paste spam must be found.
//
//	go run ./bench/quality [-targets 30 -days 28 -campaigns 24 -seed 1 -step 5m]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mpwatch/mpwatch/internal/quality"
	"github.com/mpwatch/mpwatch/rules"
)

func main() {
	var (
		seed      = flag.Uint64("seed", 1, "scenario seed")
		targets   = flag.Int("targets", 30, "MPs")
		days      = flag.Int("days", 28, "days of traffic")
		campaigns = flag.Int("campaigns", 24, "campaigns mixed in")
		step      = flag.Duration("step", 5*time.Minute, "evaluation step")
	)
	var files stringList
	flag.Var(&files, "rules", "rule file (repeatable); default: the built-in default rules")
	flag.Parse()
	rs, err := loadRules(files)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	cfg := quality.BenchConfig(*seed, *targets, *days, *campaigns)
	res, err := quality.Evaluate(ctx, rs, cfg, *step)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(quality.Report(res))

	fmt.Println("\nreal YouTube spam (UCI collection, 3 videos, real authors and dates):")
	yt, err := quality.YouTubeSweep(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(yt.Report())
}

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func loadRules(files []string) ([]rules.Rule, error) {
	if len(files) == 0 {
		return rules.LoadDefault()
	}
	return rules.LoadFiles(files)
}
