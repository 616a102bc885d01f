// Package yamlx decodes YAML strictly and reports every problem at once with
// its file, line, column and key path, e.g.
//
//	watchlists/ontario.yaml:12:7: targets[3].accounts[0].platform: unknown platform "mastadon"
//
// go.yaml.in/yaml/v3 stops at the first unknown key and does not say where a
// decoded value came from. Doc walks the node tree against the Go type first,
// so every unknown key is reported, and keeps the position of every path so
// validation that runs later on plain Go values can still point at the line.
package yamlx

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in one file.
type Error struct {
	File   string
	Line   int
	Column int
	Path   string // key path such as targets[3].accounts[0].platform; may be empty
	Msg    string
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of problems, sorted by file and position when printed.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es.Sorted() {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sorted returns the errors ordered by file, line, column, then message.
func (es Errors) Sorted() Errors {
	out := append(Errors(nil), es...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Msg < b.Msg
	})
	return out
}

// Err returns nil when there are no errors, so a caller can write
// `return errs.Err()` without the typed-nil trap.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// AsErrors flattens err into Errors: an Errors, an Error, or anything joined
// with errors.Join. Other errors become one Error with only the message.
func AsErrors(err error) Errors {
	if err == nil {
		return nil
	}
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out Errors
		for _, sub := range j.Unwrap() {
			out = append(out, AsErrors(sub)...)
		}
		return out
	}
	return Errors{{Msg: err.Error()}}
}

// Pos is a position in a file.
type Pos struct{ Line, Column int }

// Doc is one parsed YAML file with the positions of its key paths.
type Doc struct {
	File string
	Root *yaml.Node // the document's top node (a mapping for config files)
	pos  map[string]Pos
}

var lineRE = regexp.MustCompile(`line (\d+)(?::(\d+))?`)

// Parse reads YAML text. A syntax error comes back as Errors with its line.
// An empty file parses to an empty mapping.
func Parse(file string, data []byte) (*Doc, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		e := Error{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := lineRE.FindStringSubmatch(e.Msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			if m[2] != "" {
				e.Column, _ = strconv.Atoi(m[2])
			} else {
				e.Column = 1
			}
			e.Msg = strings.TrimSpace(lineRE.ReplaceAllString(e.Msg, ""))
			e.Msg = strings.TrimPrefix(strings.TrimPrefix(e.Msg, ":"), " ")
		}
		return nil, Errors{e}
	}
	d := &Doc{File: file, pos: map[string]Pos{}}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		d.Root = n.Content[0]
	} else {
		d.Root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	}
	d.index(d.Root, "")
	return d, nil
}

func (d *Doc) index(n *yaml.Node, path string) {
	if n == nil {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.pos[path] = Pos{n.Line, n.Column}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := Join(path, k.Value)
			d.index(v, p)
			// A key's own position is better for "unknown key" and for a
			// null value, which has no useful line of its own.
			d.pos[p+"#key"] = Pos{k.Line, k.Column}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.index(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// Join appends a key to a path: Join("a[1]", "b") == "a[1].b".
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index appends a sequence index to a path: Index("targets", 3) == "targets[3]".
func Index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// Pos returns the position of the value at path, or of its nearest ancestor
// that exists in the file (a missing key is reported where its parent is).
func (d *Doc) Pos(path string) Pos {
	for p := path; ; {
		if pos, ok := d.pos[p]; ok {
			return pos
		}
		if p == "" {
			return Pos{1, 1}
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			p = ""
		} else {
			p = p[:i]
		}
	}
}

// KeyPos returns the position of the key that holds path, falling back to Pos.
func (d *Doc) KeyPos(path string) Pos {
	if pos, ok := d.pos[path+"#key"]; ok {
		return pos
	}
	return d.Pos(path)
}

// Errorf makes an Error positioned at path.
func (d *Doc) Errorf(path, format string, args ...any) Error {
	p := d.Pos(path)
	return Error{File: d.File, Line: p.Line, Column: p.Column, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Decode decodes the whole document into out (a pointer), strictly.
func (d *Doc) Decode(out any) Errors { return d.DecodeNode(d.Root, "", out) }

// DecodeNode decodes n, found at path, into out strictly: every key that out's
// type does not have is an error, and so is every value of the wrong type. All
// problems are returned, not only the first.
func (d *Doc) DecodeNode(n *yaml.Node, path string, out any) Errors {
	var errs Errors
	d.checkKnown(n, path, reflect.TypeOf(out), &errs)
	if err := n.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				errs = append(errs, d.typeError(msg))
			}
		} else {
			p := Pos{n.Line, n.Column}
			errs = append(errs, Error{File: d.File, Line: p.Line, Column: p.Column, Path: path, Msg: err.Error()})
		}
	}
	return dedupe(errs)
}

// typeError turns yaml.v3's "line 12: cannot unmarshal !!str `x` into int"
// into a positioned Error, finding the path by line where it can.
func (d *Doc) typeError(msg string) Error {
	e := Error{File: d.File, Msg: msg}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		explicitCol := 0
		if m[2] != "" {
			explicitCol, _ = strconv.Atoi(m[2])
		}
		e.Msg = strings.TrimSpace(strings.TrimPrefix(lineRE.ReplaceAllString(msg, ""), ":"))
		e.Msg = strings.TrimPrefix(e.Msg, ": ")
		// the longest path whose value starts on that line names the key
		best := ""
		for p, pos := range d.pos {
			if strings.HasSuffix(p, "#key") || pos.Line != e.Line {
				continue
			}
			if len(p) > len(best) {
				best, e.Column = p, pos.Column
			}
		}
		e.Path = best
		if explicitCol > 0 {
			e.Column = explicitCol
			for p, pos := range d.pos {
				if !strings.HasSuffix(p, "#key") && pos.Line == e.Line && pos.Column == explicitCol {
					e.Path = p
				}
			}
		}
		if e.Column == 0 {
			e.Column = 1
		}
	}
	return e
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// checkKnown walks n alongside t and reports keys that t does not have.
func (d *Doc) checkKnown(n *yaml.Node, path string, t reflect.Type, errs *Errors) {
	if n == nil || t == nil {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return // the type checks itself
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a type error, reported by Decode
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			ft, ok := fields[k.Value]
			p := Join(path, k.Value)
			if !ok {
				*errs = append(*errs, Error{File: d.File, Line: k.Line, Column: k.Column, Path: p,
					Msg: fmt.Sprintf("unknown key %q%s", k.Value, suggest(k.Value, fields))})
				continue
			}
			d.checkKnown(v, p, ft, errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			d.checkKnown(c, Index(path, i), t.Elem(), errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.checkKnown(n.Content[i+1], Join(path, n.Content[i].Value), t.Elem(), errs)
		}
	}
}

// yamlFields maps YAML keys to field types, following ",inline".
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					out[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// suggest names the known key closest to an unknown one, when one is close.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range fields {
		if dd := distance(key, k); dd < bestD || (dd == bestD && best != "" && k < best) {
			best, bestD = k, dd
		}
	}
	if best == "" {
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		return " (known: " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func dedupe(es Errors) Errors {
	seen := map[string]bool{}
	var out Errors
	for _, e := range es {
		s := e.Error()
		if !seen[s] {
			seen[s] = true
			out = append(out, e)
		}
	}
	return out
}

// Section is a part of a file whose schema belongs to another package (the
// notify section of config.yaml, for example). The owner decodes it later
// with Decode and still gets file, line and key path in every error.
type Section struct {
	Doc  *Doc
	Node *yaml.Node // nil when the section is absent
	Path string     // key path of the section in its file, e.g. "notify"
}

// Present reports whether the section was in the file.
func (s Section) Present() bool { return s.Doc != nil && s.Node != nil }

// Decode decodes the section strictly into out. An absent section leaves out
// as it is (with its defaults) and returns no error.
func (s Section) Decode(out any) Errors {
	if !s.Present() {
		return nil
	}
	return s.Doc.DecodeNode(s.Node, s.Path, out)
}

// Errorf makes an Error positioned at a path inside the section
// (rel "receivers[2].channel" becomes "notify.receivers[2].channel").
func (s Section) Errorf(rel, format string, args ...any) Error {
	if s.Doc == nil {
		return Error{Path: Join(s.Path, rel), Msg: fmt.Sprintf(format, args...)}
	}
	return s.Doc.Errorf(Join(s.Path, rel), format, args...)
}

// Get returns the mapping value under key in n, or nil.
func Get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
