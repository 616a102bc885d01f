// Command monitor is mpwatch: it watches public replies to politicians'
// accounts and alerts a communications team when they turn into an attack.
//
//	monitor run          the daemon: crawl on schedule, detect, notify
//	monitor once         one full cycle over every account, then exit
//	monitor validate     check config, watchlists and rules; list every error
//	monitor replay       run rules over a replay file on a virtual clock
//	monitor demo         the whole pipeline against simulated platforms
//	monitor notify-test  send a clearly marked test message to a receiver
//	monitor silence      add, list or expire silences
//	monitor schema       write JSON Schemas for the YAML files
//	monitor version      print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mpwatch/mpwatch/app"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: monitor <command> [flags]

commands:
  run          run the daemon until SIGINT/SIGTERM (SIGHUP reloads the config)
  once         crawl every account once, detect, notify; exit 1 if a source failed
  validate     check config.yaml, watchlists and rule files; exit 1 with every error
  replay       run the rules over a replay file (JSON Lines) on a virtual clock
  demo         the whole pipeline live against simulated platforms on 127.0.0.1
  notify-test  send a clearly marked test message to one receiver
  silence      add | list | expire silences
  schema       write JSON Schemas for config, watchlist and rule files
  version      print the version

Run 'monitor <command> -h' for a command's flags.
`

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet("monitor "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "path to config.yaml")
	parse := func() bool {
		if err := fs.Parse(args); err != nil {
			return false
		}
		if fs.NArg() > 0 && cmd != "silence" {
			fmt.Fprintf(stderr, "monitor %s: unexpected argument %q\n", cmd, fs.Arg(0))
			return false
		}
		return true
	}
	streams := app.IO{Stdout: stdout, Stderr: stderr}

	switch cmd {
	case "run":
		if !parse() {
			return 2
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		return exit(stderr, cmd, app.Run(ctx, *configPath, streams, hup))
	case "once":
		if !parse() {
			return 2
		}
		return exit(stderr, cmd, app.Once(ctx, *configPath, streams))
	case "validate":
		if err := fs.Parse(args); err != nil {
			return 2
		}
		path := *configPath
		if fs.NArg() == 1 {
			path = fs.Arg(0)
		} else if fs.NArg() > 1 {
			fmt.Fprintln(stderr, "monitor validate: at most one config file")
			return 2
		}
		return exit(stderr, cmd, app.Validate(path, streams))
	case "replay":
		var o app.ReplayOptions
		fs.StringVar(&o.Input, "input", "", "replay file (JSON Lines, one reply a line; - for stdin)")
		fs.Var((*stringList)(&o.RuleFiles), "rules", "rule file (repeatable); default: the rules of --config")
		fs.StringVar(&o.Format, "format", "text", "output format: text or json")
		fs.DurationVar(&o.Step, "step", 5*time.Minute, "evaluation step on the virtual clock")
		if !parse() {
			return 2
		}
		o.ConfigPath = *configPath
		return exit(stderr, cmd, app.Replay(ctx, o, streams))
	case "demo":
		var o app.DemoOptions
		fs.Float64Var(&o.Speed, "speed", 1440, "simulated seconds per real second (1440: a day in a minute)")
		fs.StringVar(&o.Export, "export", "", "write the scenario in the replay format to this file and exit")
		fs.StringVar(&o.SlackWebhook, "slack-webhook", "", "also send alerts to this Slack incoming webhook")
		fs.StringVar(&o.DB, "db", "", "database file (default: a temporary file)")
		if !parse() {
			return 2
		}
		o.ConfigPath = *configPath
		return exit(stderr, cmd, app.Demo(ctx, o, streams))
	case "notify-test":
		receiver := fs.String("receiver", "", "name of the receiver to test")
		if !parse() {
			return 2
		}
		if *receiver == "" {
			fmt.Fprintln(stderr, "monitor notify-test: --receiver is required")
			return 2
		}
		return exit(stderr, cmd, app.NotifyTest(ctx, *configPath, *receiver, streams))
	case "silence":
		return silence(ctx, fs, configPath, args, streams)
	case "schema":
		dir := fs.String("out", "schemas", "directory to write the schema files to")
		if !parse() {
			return 2
		}
		return exit(stderr, cmd, app.WriteSchemas(*dir, streams))
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "monitor", app.Version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "monitor: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func silence(ctx context.Context, fs *flag.FlagSet, configPath *string, args []string, io app.IO) int {
	if len(args) == 0 {
		fmt.Fprintln(io.Stderr, "usage: monitor silence add|list|expire [flags]")
		return 2
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add":
		var o app.SilenceOptions
		fs.Var((*stringList)(&o.Matchers), "match", "label=value to match (repeatable): target, team, tag, platform, rule, type, severity, status, audience, key; also !=, =~, !~")
		fs.DurationVar(&o.For, "for", 4*time.Hour, "how long the silence lasts")
		fs.StringVar(&o.Reason, "reason", "", "why (required)")
		fs.StringVar(&o.Author, "author", os.Getenv("USER"), "who is silencing")
		if err := fs.Parse(args); err != nil {
			return 2
		}
		return exit(io.Stderr, "silence add", app.SilenceAdd(ctx, *configPath, o, io))
	case "list":
		all := fs.Bool("all", false, "include expired silences")
		if err := fs.Parse(args); err != nil {
			return 2
		}
		return exit(io.Stderr, "silence list", app.SilenceList(ctx, *configPath, *all, io))
	case "expire":
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() != 1 {
			fmt.Fprintln(io.Stderr, "usage: monitor silence expire [--config FILE] ID")
			return 2
		}
		return exit(io.Stderr, "silence expire", app.SilenceExpire(ctx, *configPath, fs.Arg(0), io))
	default:
		fmt.Fprintf(io.Stderr, "monitor silence: unknown sub-command %q (add, list, expire)\n", sub)
		return 2
	}
}

// exit prints err (every line of a multi-error) and maps it to an exit code:
// 0 success, 1 failure.
func exit(stderr io.Writer, cmd string, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, context.Canceled) {
		return 0
	}
	var ee app.ExitError
	if errors.As(err, &ee) && ee.Quiet {
		return ee.Code
	}
	fmt.Fprintf(stderr, "monitor %s: %v\n", cmd, err)
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
