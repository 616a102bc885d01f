// Package rules loads detection rules and runs them over replies, turning
// what they find into alert events with a deterministic key and a lifecycle.
//
// # Rule files
//
// A rule file is YAML with one key, rules:, a list of flat mappings. Every
// rule has name (unique across all files), type, description, severity
// (info, warning, high, critical; default warning, high for ops rules),
// enabled (default true), scope, resolve_after and update_growth, plus its
// type's keys. Files are decoded strictly: an unknown key, an unknown type or
// a bad value is an error naming file:line:col and the key path, and all
// problems of all files are reported at once (LoadFiles). The shipped rules
// live in rules/default and are embedded in the binary (LoadDefault).
//
// # Scope
//
// scope: {targets, tags, teams, platforms} limits which replies a rule sees.
// An empty list places no limit; lists combine with AND, entries within one
// list with OR. Tags and teams come from the watchlist, so in replay (no
// watchlist) a rule scoped by tag or team sees nothing.
//
// # Evaluation order
//
// Replies enter in ingest order (the store's seq; the file order in replay).
// Each reply's text is normalised once (rules/text) and handed to every
// enabled rule whose scope matches, in rule load order; rules never see each
// other's state. At each evaluation (every crawl cycle in the daemon, every
// --step in replay) every rule reports what is abnormal at that time.
//
// # Alert keys and lifecycle
//
// A finding names a scope ("target:mp-a", "all", "coreply:a|b",
// "burst:target:mp-a", "source:mp-a/bluesky") and a window start; the alert
// key is 16 hex digits of a hash of (rule name, scope, window start), so
// re-evaluating the same data gives the same key. For each key:
//
//   - firing (seq 1) when the key is first found;
//   - updated (seq+1) when its size (replies in a spike, accounts in a
//     network) grew by update_growth (default 0.5 = +50 %) since the last
//     event; smaller changes are silent;
//   - resolved (seq+1, once) when the finding has been absent for
//     resolve_after (default 2h): a finding that comes back within that time
//     keeps the alert open (hysteresis);
//   - a resolved key never fires again; a new episode has a new window start
//     and so a new key. Resolved keys are remembered for 30 days.
//
// Evaluating twice at the same time with no new replies emits nothing. With a
// StateStore the detector states (baselines, open episodes, co-reply edges),
// the alert lifecycles and the last reply seq read are saved together after
// every evaluation, so a restart neither forgets a baseline nor re-fires; a
// rule whose parameters changed starts from fresh detector state (its state is
// keyed by name and a hash of its spec). Open alerts of a rule that was
// removed are resolved at the next evaluation.
//
// # spike
//
// Reply volume per scope (group_by: [target], [target, platform], [platform]
// or [] for all targets) in buckets of timeframe (default 1h, must divide a
// day). The baseline for the current bucket is the median and MAD of the same
// bucket of the week in each past week of baseline.window_days (28) once
// there are baseline.min_history_buckets (336, two weeks) of history, and
// otherwise the median and MAD of the last baseline.recent_buckets (72). With
// fewer than baseline.min_recent_buckets (24) of history the rule is quiet.
// History counts from the first reply the rule saw, so hours without replies
// are real zeros. Each evaluation tests the current (partial) bucket and,
// at the first evaluation after a bucket ends, that bucket once more with
// all its replies: the replies of its last minutes, or all of them when
// evaluations are a timeframe apart, are tested then. Replies crawled
// after that are counted but not tested again. A bucket fires when all of
// these hold:
//
//   - count >= threshold_cur (required; a rule without it is invalid);
//   - count / max(median, threshold_ref) >= spike_height (default 3);
//   - robust z = (count - λ) / max(1.4826·MAD, √λ) >= z_alert (default 6),
//     with λ = max(median, threshold_ref) — the √λ floor is the Poisson
//     spread, since sparse counts often have MAD 0;
//   - P(X >= count | Poisson(λ)) <= poisson_p (default 1e-4).
//
// With per_post: {first_hours, ratio_vs_p90, min_posts}, a spike that would
// not be one without its busiest watched post, when that post's replies in its
// first first_hours are within ratio_vs_p90 × the account's 90th percentile
// per post (over its last 100 posts, once it has min_posts), is a popular
// post and not reported. per_post.organic judges the crowd instead of the
// count, for a post that goes viral beyond the account's usual range: when
// the spike is driven by one post whose repliers look ordinary (enough of
// them with a known account age, few new accounts or digit-suffixed
// handles, few exact copies among the long replies), it is a popular post
// and not reported; the same volume from new accounts or pasted text still
// fires. burst.organic applies the same test to coordination bursts. The
// check only ever keeps an alert quiet (see crowd.go for its limits: old,
// bought accounts writing their own words can hide a spike, and are left to
// the narrative rules). With z_watch (optional, below z_alert; detection.md
// proposes 3.5), a bucket passing every test with a robust z of at least
// z_watch but under z_alert is hot at a watch level: its finding has
// severity info and a summary starting "Watch". Consecutive hot buckets are
// one episode: one key (window start = the first hot bucket), updated as
// its reply total grows or when its severity rises (a watch reaching
// z_alert takes the rule's severity; an alert never falls back to a lower
// severity); the episode ends after resolve_after without a hot bucket. Evidence: count,
// baseline, ratio, z, Poisson p, the three busiest posts (platform:post id),
// the first samples of the episode (up to five a bucket are kept), every
// reply id (up to max_reply_ids, default 5000, per scope).
//
// # coordination
//
// co_reply: two accounts co-reply when they reply under the same watched post
// within time_window (300s) of each other; a pair that co-replied under
// min_edge_weight (2) different posts is an edge, remembered for window
// (24h). Connected groups of at least min_component (3) accounts that between
// them replied to at least min_targets (3) targets fire; the key is the
// group's earliest edge, so it stays while the group grows (updated at +50 %
// accounts). burst: at least min_accounts (20) distinct accounts replying to
// one target within window (60s). Account signals (signals: new accounts,
// digit-suffixed handles, few followers, default avatars, office-hours share
// in a time zone) are computed for the evidence and never fire an alert.
//
// # flatline
//
// An operations rule (audience ops: never sent to the communications
// channel). A source (target + platform) whose average over baseline_days (7)
// before its last reply is at least min_daily_replies, with no reply for
// quiet_for (24h), fires; it resolves when replies return. With source
// health, max_failures (6) consecutive crawl failures also fire, until a crawl
// succeeds. In replay there is no health, and flatline works from reply volume.
//
// # Replay
//
// Replay reads JSON Lines of model.Reply (unknown fields are errors with the
// line number; platform, id, target, created_at and text are required), sorts
// by created_at and runs the rules on a virtual clock, evaluating every Step
// as the daemon would; FiredAt is the virtual time. Nothing is sent or stored.
package rules
