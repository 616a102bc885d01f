// Package youtube reads public comments under an MP's YouTube videos through
// the YouTube Data API v3 with an API key (public data needs no OAuth).
//
// Scopes: when the account lists options.video_ids (comma-separated), each
// video is read with commentThreads.list?videoId=; otherwise the whole
// channel (the account's handle, a channel id "UC…") is read with
// allThreadsRelatedToChannelId=. Requests use part=snippet,replies,
// order=time, textFormat=plainText, maxResults=100 and follow nextPageToken.
//
// A thread's top-level comment and its replies become replies with PostID the
// video id; a top-level comment's ParentID is the video id, a reply's is the
// top-level comment id. commentThreads carries only some of a thread's
// replies; when totalReplyCount says there are more and the thread is new,
// the rest is read with comments.list?parentId=. Comments written by the
// watched channel are not replies and are left out. URL is
// https://www.youtube.com/watch?v=<video>&lc=<comment>; Author carries the
// authorChannelId, the @handle and the channel URL. The source returns no
// Posts: reading video metadata would cost a call per crawl for no signal.
//
// Incremental: the cursor keeps, per scope, the publishedAt of the newest
// comment seen. Threads come newest first, so paging stops at the first
// thread older than that mark; replies newer than the mark under older
// threads are still picked up from the inline replies of the pages read.
//
// Quota: every list call costs 1 unit of the Google Cloud project's daily
// quota (10,000 by default), whatever it returns. quotaExceeded stops the
// crawl with a *crawler.Error of Kind KindRateLimited wrapping
// ErrQuotaExceeded, RetryAfter set to the next midnight Pacific time, when the
// quota resets; the reset time is kept in the cursor and no call is made
// before it.
//
// Comments disabled: a video whose owner turned comments off answers 403
// commentsDisabled. That is a state of the video, not a crawler failure: the
// other videos are read, the video is recorded in the cursor and asked again
// a day later. Only when every watched scope has comments off does the crawl
// return an error, KindForbiddenByRobots (the author's own opt-out) wrapping
// ErrCommentsDisabled.
//
// Errors: Google error bodies ({"error":{"code","message","errors":[{"domain",
// "reason"}],"status","details"}}) decode to *APIError. keyInvalid /
// API_KEY_INVALID, a missing key and accessNotConfigured are KindAuth with a
// message for the administrator; videoNotFound and channelNotFound are
// KindNotFound.
//
// Secrets: the key is sent in the X-Goog-Api-Key header, which Google APIs
// accept in place of key=, so it is in no URL; URLs in errors are still
// passed through redactURL, and any echo of the key in a response is
// scrubbed before it reaches an error or a log line.
package youtube
