// Package config loads mpwatch's configuration: config.yaml, the watchlist
// files it names, and the list of rule files (which the rules package parses).
//
// Load reads strictly: every unknown key, wrong type, bad duration, bad cron
// spec, unset environment variable, duplicate target id or account, missing
// required field and unreadable file is reported, in every file at once, as
// a yamlx.Errors whose lines read
//
//	watchlists/ontario.yaml:12:7: targets[3].accounts[0].platform: unknown platform "mastadon" (known: ...)
//
// File names are relative to the config file's directory, as the user
// writes them in config.yaml. A configuration is returned only when all of
// it is valid, so a hot reload can never apply half of one.
//
// Semantics:
//   - Defaults first, then the file: a key left out keeps its default, a key
//     written (even as 0 or false) wins. Relative paths and globs are taken
//     from the config file's directory.
//   - watchlists and rule_files are glob patterns. A pattern with a wildcard
//     may match nothing (the rules directory may still be empty); a plain
//     path must exist.
//   - Targets: inline targets first, then each watchlist file in path
//     order. A watchlist's defaults give its targets a team (when they set
//     none), tags (before their own) and a schedule (for accounts that set
//     none). Target ids are unique across all files, and so are accounts
//     (model.Account.Key), because crawl state is keyed by them.
//   - Each account is resolved for its consumers: the handle normalised
//     (mastodon "@user@instance" with the instance lower-cased; bluesky
//     lower-cased, without "@"; x without "@"), Schedule filled from the
//     account, its watchlist's defaults or schedule.default, Lookback from
//     crawler.lookback, and a mastodon account without its own token given
//     its instance's token from crawler.instances.
//   - Secrets are written "${NAME}" (or "${NAME:-}" when optional) and held
//     as model.Secret, which prints as "<secret>"; Redacted dumps the
//     variable names, never values.
//   - The notify section is not interpreted here: it is kept as a
//     yamlx.Section for notify.ParseConfig, so its errors still carry
//     config.yaml positions.
package config
