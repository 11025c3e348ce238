package delivery

import (
	"fmt"
	"time"
)

// HealthPolicy says when an endpoint is paused automatically.
type HealthPolicy struct {
	// MaxConsecutiveFailures pauses after this many failed attempts in a
	// row (0: never by count).
	MaxConsecutiveFailures int
	// MaxFailingFor pauses when every attempt has failed for this long
	// (0: never by time).
	MaxFailingFor time.Duration
}

// Health tracks one endpoint's recent attempts. It is pure: the caller
// passes the time, so tests need no clock. Not safe for concurrent use.
type Health struct {
	consecutive  int
	failingSince time.Time
}

// Observe records one attempt at now and reports whether the endpoint
// should be paused, with a reason for the operator.
func (h *Health) Observe(success bool, now time.Time, p HealthPolicy) (pause bool, reason string) {
	if success {
		h.consecutive, h.failingSince = 0, time.Time{}
		return false, ""
	}
	h.consecutive++
	if h.failingSince.IsZero() {
		h.failingSince = now
	}
	if p.MaxConsecutiveFailures > 0 && h.consecutive >= p.MaxConsecutiveFailures {
		return true, fmt.Sprintf("%d consecutive failed attempts", h.consecutive)
	}
	if p.MaxFailingFor > 0 && now.Sub(h.failingSince) >= p.MaxFailingFor {
		return true, fmt.Sprintf("every attempt failed for %s", now.Sub(h.failingSince).Round(time.Second))
	}
	return false, ""
}

// Consecutive is the current run of failures.
func (h *Health) Consecutive() int { return h.consecutive }

// Reset forgets the history (after a resume).
func (h *Health) Reset() { *h = Health{} }
