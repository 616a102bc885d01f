package crawler

import (
	"net/url"
	"strings"
)

// SecretParams are query parameters that carry credentials in the URLs of
// the platforms mpwatch reads (Graph puts access_token into every
// paging.next link; Google APIs accept key=).
var SecretParams = []string{"access_token", "key", "appsecret_proof", "client_secret", "input_token"}

// RedactURL returns raw with the values of credential-bearing query
// parameters replaced, so a URL can go into an error, a log line or the
// store. An unparseable URL loses its whole query rather than risk a leak.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			return raw[:i] + "?<redacted>"
		}
		return raw
	}
	q := u.Query()
	changed := false
	for _, p := range SecretParams {
		if q.Has(p) {
			q.Set(p, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
