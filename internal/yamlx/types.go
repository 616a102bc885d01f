package yamlx

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mpwatch/mpwatch/model"
	"go.yaml.in/yaml/v3"
)

// Fail returns an error that yaml.v3 merges into its list of type errors and
// that Doc.Decode turns into a positioned Error. Use it from UnmarshalYAML
// methods so one bad value does not stop the rest of the file being checked.
func Fail(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d:%d: %s", n.Line, n.Column, fmt.Sprintf(format, args...))}}
}

// Duration is a time.Duration written as Go does ("90s", "1h30m") or with the
// day and week units administrators expect ("90d", "2w").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	td := time.Duration(d)
	switch {
	case td != 0 && td%(7*24*time.Hour) == 0:
		return strconv.FormatInt(int64(td/(7*24*time.Hour)), 10) + "w"
	case td != 0 && td%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

// MarshalYAML writes the duration back in the same form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalText lets JSON and dumps show "90d" rather than nanoseconds.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

var dayWeekRE = regexp.MustCompile(`^(\d+)([dw])$`)

// ParseDuration parses "90d", "2w" or any time.ParseDuration form.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if m := dayWeekRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		unit := 24 * time.Hour
		if m[2] == "w" {
			unit *= 7
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use a number with a unit: 30s, 5m, 1h, 7d, 2w)", s)
	}
	return d, nil
}

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return Fail(n, "expected a duration such as 5m, 1h or 7d")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return Fail(n, "%s", err.Error())
	}
	if v < 0 {
		return Fail(n, "duration %q must not be negative", n.Value)
	}
	*d = Duration(v)
	return nil
}

// LookupEnv is how Secret reads the environment; tests replace it.
var LookupEnv = os.LookupEnv

var envRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}$`)

// Secret is a credential in YAML. Written as "${NAME}" it is read from the
// environment variable NAME (an error names the variable when it is unset);
// "${NAME:-}" makes it optional. Its value never appears in errors, dumps or logs.
type Secret struct {
	model.Secret
	// Env is the variable it came from, for messages ("" when literal).
	Env string
}

func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return Fail(n, "expected a string such as ${SLACK_TOKEN}")
	}
	m := envRE.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil {
		if strings.Contains(n.Value, "${") {
			return Fail(n, "a secret must be exactly ${NAME} or ${NAME:-default}")
		}
		s.Secret, s.Env = model.Secret(n.Value), ""
		return nil
	}
	s.Env = m[1]
	v, ok := LookupEnv(m[1])
	if !ok || v == "" {
		if m[2] != "" {
			s.Secret = model.Secret(m[3])
			return nil
		}
		return Fail(n, "environment variable %s is not set (it holds this secret; set it, or write ${%s:-} to make it optional)", m[1], m[1])
	}
	s.Secret = model.Secret(v)
	return nil
}

// MarshalYAML dumps the reference, never the value.
func (s Secret) MarshalYAML() (any, error) {
	if s.Env != "" {
		return "${" + s.Env + "}", nil
	}
	return s.Secret.String(), nil
}
