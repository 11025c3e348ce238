package delivery

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// DefaultSchedule is Svix's: the first attempt immediately, then retries
// after 5s, 5m, 30m, 2h, 5h, 10h and 10h (8 attempts over ~27.6h).
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Policy is a retry schedule with jitter. Schedule[i] is the delay before
// attempt i+1, so len(Schedule) is the number of attempts.
type Policy struct {
	Schedule []time.Duration
	// Jitter spreads each delay by +-Jitter (0.2 = +-20%) so endpoints that
	// failed together do not retry together.
	Jitter float64
}

// Validate reports every problem with p.
func (p Policy) Validate() error {
	var errs []error
	if len(p.Schedule) == 0 {
		errs = append(errs, errors.New("retry schedule must have at least one attempt"))
	}
	if len(p.Schedule) > 50 {
		errs = append(errs, errors.New("retry schedule: at most 50 attempts"))
	}
	for i, d := range p.Schedule {
		if d < 0 {
			errs = append(errs, fmt.Errorf("retry schedule[%d]: negative delay", i))
		}
		if d > 7*24*time.Hour {
			errs = append(errs, fmt.Errorf("retry schedule[%d]: longer than 7 days", i))
		}
	}
	if p.Jitter < 0 || p.Jitter >= 1 {
		errs = append(errs, errors.New("jitter must be in [0, 1)"))
	}
	return errors.Join(errs...)
}

// Next says what follows failed attempt number attempt (1-based): the
// delay before the next one, or exhausted. rnd returns a uniform value in
// [0,1). retryAfter (0: none) is the receiver's Retry-After on 429/503; it
// is honoured within [d, 2d] of the scheduled delay d, so a receiver can
// slow retries down but neither stall them nor speed them up (Svix's rule).
func (p Policy) Next(attempt int, retryAfter time.Duration, rnd func() float64) (time.Duration, bool) {
	if attempt >= len(p.Schedule) {
		return 0, false
	}
	d := p.Schedule[attempt]
	if retryAfter > 0 {
		return min(max(retryAfter, d), 2*d), true
	}
	if p.Jitter > 0 && d > 0 {
		f := 1 + p.Jitter*(2*rnd()-1)
		d = time.Duration(float64(d) * f)
	}
	return d, true
}

// RetryAfter parses a Retry-After header on a 429 or 503 response (seconds
// or an HTTP date); 0 when absent, unparseable or another status.
func RetryAfter(status int, h http.Header, now time.Time) time.Duration {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
