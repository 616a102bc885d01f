// Package facebook reads public comments under a Facebook Page's posts
// through the Graph API, with a Page access token the MP's office supplies.
//
// There is no anonymous access to Page comments. The account's token
// (model.Account.Token, read from the environment variable the watchlist
// names) must be a Page access token for the watched page, issued by a person
// who can perform the MODERATE task on it, with the permissions
// pages_read_engagement and pages_read_user_content. An app using the "Page
// Public Content Access" feature instead gets, since Graph v11, neither the
// comment id nor from: such comments cannot be stored idempotently and are
// skipped, and replies without from carry an empty Author.
//
// A crawl lists /{page-id}/posts created inside the lookback window (newest
// first, limit 25, at most MaxPostPages pages), then for each post reads
// /{post-id}/comments?filter=stream&order=reverse_chronological — every
// comment including replies to comments, newest first — following
// paging.next until it reaches the newest comment seen on the previous crawl.
// A post whose comment count is unchanged and which is older than the
// crawler's re-scan window is not read again. Comments written by the page
// itself are not replies and are left out.
//
// The cursor is JSON owned by this package: per post inside the lookback,
// its created_time, its newest comment time and its comment count. A post's
// mark only advances once all its new comments were read, so a crawl that
// fails midway re-reads that post next time and the store's upsert absorbs
// the overlap.
//
// The API version is pinned: Options.APIVersion (default DefaultAPIVersion),
// overridden per account by options.api_version.
//
// Politeness: every response's X-App-Usage and X-Business-Use-Case-Usage
// headers are read. From Throttle.SlowAt percent (75) the source pauses
// before the next call, longer as usage grows; at Throttle.StopAt (95), or
// when Graph reports estimated_time_to_regain_access, it stops the crawl with
// a crawler.KindRateLimited error rather than run into Meta's throttle, whose
// penalty lasts much longer than a skipped schedule.
//
// Errors: Graph error bodies ({"error":{"message","type","code",
// "error_subcode","fbtrace_id"}}) become *crawler.Error values wrapping an
// *APIError. Code 190 (expired, revoked or invalid token) and the permission
// codes (10, 200-299) are crawler.KindAuth with a message for the
// administrator naming the page and what to do; 4, 17, 32, 613 and 80001-80099
// are KindRateLimited; 100/33 is KindNotFound.
//
// Secrets: the token is sent only in the Authorization header. Graph puts
// access_token into every paging.next URL; it is stripped before the URL is
// requested and redacted wherever a URL appears in an error. Graph echoes a
// malformed token in its error message; messages are scrubbed of the token
// before they reach an error or a log line.
package facebook
