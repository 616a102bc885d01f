// Package notify turns alert events into notifications: it routes each event
// to receivers, applies silences, inhibition and noise control, records every
// decision in a durable outbox before anything is sent, and delivers with
// retry. Receivers live in sub-packages (slack, email, console, webhook);
// package receivers builds them from the configuration.
//
// # Pipeline
//
// Submit(ctx, alerts) is called with the rules engine's events. For each event
// it
//
//  1. routes: routes are tried in order and the first whose match list all
//     match wins; continue: true lets later routes match too; nothing
//     matching means the default route. Operations alerts (audience ops:
//     source failures, flatlines, permanent delivery failures) only take
//     routes that name audience=ops, else ops_receiver, so they can never
//     reach the comms channel by falling through;
//  2. decides per receiver: silenced (an active silence matches), inhibited
//     (an inhibit rule's source alert is active for the same labels and an
//     overlapping window), skipped (resolved, and the receiver has
//     send_resolved: false), suppressed (an update within realert of the
//     last send of the same alert key to that receiver; the next update after
//     realert carries the latest numbers) or pending;
//  3. writes the event and every (event, receiver) note in one transaction.
//     An event (key#seq) already recorded is ignored, so the engine may
//     re-emit after a restart without anything being sent twice.
//
// Flush(ctx, now) and Run(ctx) (a loop of Flush woken by Submit and every
// delivery.poll) turn due groups into deliveries and send due deliveries.
//
// # Grouping (as Alertmanager)
//
// A group is receiver + route + the values of group_by labels (default rule,
// target; the label key makes every alert its own group). A group's first
// pending event waits group_wait (default 30s; 0 sends at once) so related
// alerts go in one message; later changes wait until group_interval (5m)
// after the previous message; while the group has firing alerts and nothing
// changes, a reminder with them all is sent every repeat_interval (4h; 0 =
// never). A message carries the newest event of each changed alert, most
// severe first. Resolved events are sent once and end the alert's reminders.
//
// Quiet hours (per receiver, in its time zone, may cross midnight): in hold
// mode due messages wait until quiet hours end; in digest mode events that
// arrive during quiet hours are folded into the receiver's next digest (or
// one summary when quiet hours end, when the receiver has no digest).
// digest: {at, tz} makes a receiver get one summary a day of every event since
// the previous digest, instead of real-time messages.
//
// Labels for match, group_by, equal and silences: rule, type, severity,
// status, audience, key, target, team, tag, platform. target, team, tag and
// platform may have several values: name=value matches when any value does,
// name!=value when none does. =~ and !~ take anchored regular expressions.
//
// # Delivery guarantees
//
// An event is in the outbox before any send. Each (event, receiver) note is
// carried by at most one delivery. A delivery is claimed (state sending, with
// a lease), sent, and its outcome committed at once: sent (with the thread
// reference the receiver returned), retried with capped exponential backoff
// (delivery.min_backoff doubling to max_backoff; a Retry-After from Slack or
// a webhook wins), or failed for good (a *PermanentError such as a bad token
// or unknown channel, or still failing after give_up_after), which raises an
// operations alert to the administrators saying which receiver failed and why.
//
// Exactly once, except one window: if the process dies after the remote side
// accepted a message but before "sent" is committed (microseconds after the
// call returns), the claim's lease (delivery.lease, 2m) expires and the
// message is sent again. Slack and SMTP have no idempotency key, so we chose
// at-least-once in that window over at-most-once (losing an alert is worse
// than a duplicate); email reuses the same Message-ID and webhooks the same
// payload id on a resend, so receivers can de-duplicate. A process killed
// before sending sends after restart; one killed after committing never
// sends again. Deliveries of one group to one receiver go out in order, so
// an update always follows (and threads under) the first message.
//
// Threading: the first message about an alert key on a receiver stores its
// reference (Slack ts with a bot token, email Message-ID); later messages
// about that key carry it (Message.Thread) and go into that thread.
//
// # Configuration
//
// The notify: section of config.yaml (ParseConfig; all errors at once with
// file:line:col and key path). An absent section means one console receiver
// and the default route to it. Secrets are ${ENV} references.
//
//	notify:
//	  receivers:
//	    - name: console
//	      type: console
//	    - name: comms-slack
//	      type: slack
//	      slack:
//	        token: "${SLACK_BOT_TOKEN}"   # bot token: threads updates (or webhook_url: "${SLACK_WEBHOOK_URL}")
//	        channel: C0123COMMS
//	        max_samples: 5
//	      quiet_hours: {tz: America/Toronto, from: "22:00", to: "07:00", mode: hold}
//	    - name: comms-mail
//	      type: email
//	      send_resolved: true
//	      email:
//	        host: smtp.example.org
//	        port: 587
//	        tls: starttls               # starttls | tls (implicit) | none
//	        username: mpwatch
//	        password: "${SMTP_PASSWORD}"
//	        from: "mpwatch <alerts@example.org>"
//	        to: [comms@example.org]
//	        timeout: 15s
//	    - name: director-digest
//	      type: email
//	      email: {host: smtp.example.org, username: mpwatch, password: "${SMTP_PASSWORD}", from: alerts@example.org, to: [director@example.org]}
//	      digest: {at: "08:00", tz: America/Toronto}
//	    - name: admins
//	      type: webhook
//	      webhook: {url: "${OPS_WEBHOOK_URL}", timeout: 10s}
//	  default:
//	    receiver: comms-slack
//	    group_by: [rule, target]
//	    group_wait: 30s
//	    group_interval: 5m
//	    repeat_interval: 4h
//	    realert: 1m
//	  ops_receiver: admins
//	  routes:
//	    - receiver: comms-mail
//	      match: ["severity=~high|critical"]
//	      continue: true
//	    - receiver: comms-slack
//	      match: ["team=east"]
//	      group_wait: 10s
//	    - receiver: director-digest
//	      match: ["tag=cabinet"]
//	  inhibit_rules:                    # absent: this rule; []: none
//	    - source_match: ["type=~narrative|repeated_narrative"]
//	      target_match: [type=spike]
//	      equal: [target]
//	      same_window: true
//	  delivery:
//	    workers: 4
//	    min_backoff: 2s
//	    max_backoff: 5m
//	    give_up_after: 24h
//	    lease: 2m
//	    timeout: 30s
//	    poll: 1s
//
// # Silences
//
// AddSilence, ListSilences and ExpireSilence (for monitor silence add, list,
// expire) keep silences in the store with author, reason and expiry; matchers
// come from ParseMatcher("target=mp-a"). Silenced events are recorded with
// the silence that muted them, never sent. Expired silences stay listed with
// --all for audit.
package notify
