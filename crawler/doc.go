// Package crawler collects public replies to watched accounts, politely,
// incrementally, and without ever stopping because one source misbehaves.
//
// # Pieces
//
// A Source (crawler/mastodon, crawler/bluesky, crawler/html, crawler/rss,
// and the API sources built the same way) turns a Request — target,
// account, the cursor it returned last time, the crawl's clock — into a
// Result: the watched posts, the replies found, and the next cursor. It may
// return a partial Result together with an error; the good part is stored
// and the cursor then only covers it. Cursors are opaque JSON owned by each
// source and kept small (only posts within the lookback).
//
// The Runner owns health. For each (target, account) it loads the stored
// model.SourceHealth, skips the source while it is backing off, calls the
// source, and writes data and new health in one Store.SaveCrawl call. After
// n consecutive failures the next check is the schedule interval × 2^(n-1)
// with 0–20% jitter, capped at interval × BackoffMaxFactor (8) and never
// shorter than a server's Retry-After (also capped): a failing source is
// never disabled, at worst it is tried every interval × 8. CrawlAll runs
// many sources with bounded concurrency; when every attempted source (two
// or more) failed with a network error the Summary says NetworkDown, the error is recorded
// once, and no source's failure count moves (the outage is not theirs).
// A panic inside a source is turned into that source's error.
//
// # The shared Client
//
// Every source fetches through one *Client, built once from Options:
//
//   - one colly collector; a LimitRule per host (Parallelism, Delay,
//     RandomDelay) is added the first time a host is seen, so hosts do not
//     share slots;
//   - User-Agent "mpwatch/<version> (+<project url>; <contact>)", a request
//     timeout that covers slow bodies, a body cap (KindTooLarge past it),
//     gzip, no cookies, at most MaxRedirects redirects;
//   - Get for API endpoints (robots.txt not consulted, API terms apply),
//     GetPage for pages and feeds (robots.txt honoured when RespectRobots),
//     GetJSON / DecodeJSON to decode with the same checks: an HTML page or a
//     truncated or malformed body is KindBadResponse naming the URL, unknown
//     fields are ignored, invalid UTF-8 becomes U+FFFD;
//   - caller headers pass through (Authorization: Bearer …, conditional
//     If-None-Match; a 304 is a success with Status 304);
//   - retries of 5xx, network errors and 429 with capped exponential backoff
//     and jitter (RetryBase, RetryMax, MaxRetries); a 429 waits Retry-After
//     (seconds or HTTP date) or the rate-limit reset, and fails at once as
//     KindRateLimited with RetryAfter set when that is longer than MaxWait;
//   - rate-limit headers are read on every response (ParseRateLimit:
//     X-RateLimit-* with ISO 8601 resets as Mastodon sends, x-rate-limit-*
//     with epoch seconds as X sends, draft RateLimit-* with delta seconds);
//     when Remaining reaches 0 the next request to that host waits for the
//     reset instead of hammering;
//   - every wait goes through Options.Sleep and every clock read through
//     Options.Now, so tests never wait for real.
//
// Errors are *Error with a Kind (auth, not_found, rate_limited, server,
// network, bad_response, too_large, forbidden_by_robots), the URL, the
// status, and the server's own message cleaned for logs (ServerMessage,
// CleanLine). Sources add what an administrator should do (the mastodon
// source names the crawler.instances.<host>.token setting on a 401).
//
// Text helpers: HTMLToText turns post HTML into plain text (entities
// decoded, <br> and paragraphs as line breaks, link text kept, scripts
// dropped); LinkRel reads Link pagination verbatim; SetHash and IDHash make
// the short fingerprints cursors keep; PageCursor is the conditional-GET and
// seen-ids cursor the page and feed sources share.
package crawler
