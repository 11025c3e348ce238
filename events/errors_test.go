package events_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rosterhq/roster/events"
)

func TestWrapCarriesItsCause(t *testing.T) {
	cause := errors.New("disk on fire")
	err := fmt.Errorf("append: %w", events.Wrap(events.CodeUnavailable, cause, "store %s", "down"))
	if !errors.Is(err, cause) {
		t.Fatal("errors.Is does not reach the cause")
	}
	if !errors.Is(err, &events.Error{Code: events.CodeUnavailable}) || events.CodeOf(err) != events.CodeUnavailable {
		t.Fatalf("code lost: %v", err)
	}
	var e *events.Error
	if !errors.As(err, &e) || e.Message != "store down" {
		t.Fatalf("want message %q, have %+v", "store down", e)
	}
	if want := "append: unavailable: store down: disk on fire"; err.Error() != want {
		t.Fatalf("want %q, have %q", want, err.Error())
	}
}
