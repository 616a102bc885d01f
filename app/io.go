package app

import (
	"fmt"
	"io"
	"runtime/debug"
)

// IO is where a command writes: results on Stdout, progress and logs on Stderr.
type IO struct {
	Stdout io.Writer
	Stderr io.Writer
}

// ExitError carries a command's exit code. Quiet means the command already
// told the user why, so main prints nothing more.
type ExitError struct {
	Code  int
	Quiet bool
	Err   error
}

func (e ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e ExitError) Unwrap() error { return e.Err }

// version is set at build time with -ldflags "-X github.com/mpwatch/mpwatch/app.version=v1.2.3".
var version = ""

// Version returns the release version, or the VCS revision of a source build.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
