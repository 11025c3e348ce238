// Package jsevents reads ROSTER_EVENTS for the membership read side: a
// group's commits for history queries (app.History), the replay of events
// for `roster events`, and the ordered read of the whole stream a
// rebuild's bulk phase folds. Commits are decoded on the fast path
// (fastcommit.go) with encoding/json deciding everything else.
package jsevents
