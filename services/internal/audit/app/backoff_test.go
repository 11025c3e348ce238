package app

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for _, tc := range []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{name: "first", attempt: 0, want: 100 * time.Millisecond},
		{name: "doubles", attempt: 2, want: 400 * time.Millisecond},
		{name: "capped", attempt: 4, want: time.Second},
		{name: "stays capped", attempt: 1000, want: time.Second},
	} {
		if have := b.Delay(tc.attempt); have != tc.want {
			t.Errorf("%s: want %s, have %s", tc.name, tc.want, have)
		}
	}
}
