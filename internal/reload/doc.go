// Package reload tells its caller when configuration files changed, so the
// caller can re-load and re-validate the whole configuration.
//
// Semantics:
//   - The directories holding the files are watched, not the files: editors and
//     config management replace a file by writing a temporary file and renaming
//     it over the original, which silently ends a watch on the old inode.
//     Events are then filtered by the file's full path, so other files in the
//     same directory (editor swap files, unrelated configs) never trigger.
//   - A burst of events (write + chmod + rename from one save, or several files
//     saved together) is debounced into one onChange call, Options.Debounce
//     after the last event.
//   - Trigger asks for the same call without a file event (SIGHUP); it is
//     debounced together with file events.
//   - onChange runs on the watcher's goroutine, never concurrently with
//     itself. After each call the file set is read again from files(), so a
//     reload that adds or drops watchlist or rule files moves the watches.
//   - The watcher only says "something changed". Holder is the other half:
//     it swaps in a newly loaded configuration only if the whole load
//     succeeded, and otherwise keeps the old one running and remembers the
//     error (with its file:line) for the status page and the logs.
package reload
