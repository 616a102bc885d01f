// Package x reads replies to an X (Twitter) account's recent posts through
// the X API v2 with an app Bearer Token. X forbids scraping x.com; the API
// is the only way in, and every post it returns is billed.
//
// A crawl:
//  1. resolves the handle once with GET /2/users/by/username/:username and
//     keeps the user id in the cursor (a user read costs $0.010);
//  2. reads the account's own new posts with GET /2/users/:id/tweets
//     (exclude=retweets,replies, since_id = the newest post seen, start_time =
//     the lookback bound) and adds them to the watched posts;
//  3. for each watched post younger than the lookback (capped at the seven
//     days recent search covers), oldest first, runs
//     GET /2/tweets/search/recent?query=conversation_id:<id> with
//     expansions=author_id and user.fields=created_at,public_metrics,
//     profile_image_url for the author signals, following meta.next_token.
//     since_id stays the same on every page; page 1's newest_id becomes the
//     post's next since_id only after the last page, so an interrupted
//     conversation is read again from the same point. A conversation with
//     more than Options.MaxSearchPages new pages has its oldest new replies
//     skipped and since_id still moves on, so no crawl pays twice for the
//     same pages.
//
// Replies by the watched account itself (thread continuations) are left out.
// ParentID is the replied_to post; URL is https://x.com/<username>/status/<id>.
//
// Budget: each post returned is a billed read ($0.005 on pay-per-use). The
// account's options.max_reads_per_day (default Options.MaxReadsPerDay, else
// DefaultMaxReadsPerDay) caps the reads per UTC day; the count lives in the
// cursor so it survives restarts. max_results is lowered to what the budget
// has left, so a crawl never exceeds it; when less than one minimum page is
// left the crawl stops with a *crawler.Error of Kind KindRateLimited wrapping
// ErrBudgetExhausted, RetryAfter set to the next UTC midnight. X's own
// "no credits left" answer (402 CreditsDepleted) wraps ErrCreditsDepleted.
//
// Rate limits: x-rate-limit-* headers (reset in epoch seconds) and 429 are
// honoured by crawler.Client: it waits for the reset when it is near, and
// otherwise the crawl stops with KindRateLimited and resumes on schedule.
//
// Errors: X answers errors as RFC 7807 problems ({"title","detail","type",
// "status"}) or {"errors":[{"code","message"}]}; both decode to *APIError.
// 401 and 403 are crawler.KindAuth with a message for the administrator.
//
// Secrets: the token is sent only in the Authorization header, never in a
// URL, and any echo of it in a response is scrubbed before it reaches an
// error or a log line.
package x
