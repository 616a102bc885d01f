package yamlx

// Has reports whether path is written in the file. Validation uses it to tell
// a key that is absent from one set to its zero value, which the decoded Go
// value alone cannot say.
func (d *Doc) Has(path string) bool {
	_, ok := d.pos[path]
	return ok
}
