package edge

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A request's context behaves as context.WithTimeout's, whether or not
// anything asked for Done before it ended.
func TestRequestContext(t *testing.T) {
	t.Run("deadline, Done asked first", func(t *testing.T) {
		ctx := newRequestContext(20 * time.Millisecond)
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
			t.Fatalf("deadline %v %v", d, ok)
		}
		if ctx.Err() != nil {
			t.Fatal("ended early")
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done never closed")
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v", ctx.Err())
		}
	})
	t.Run("deadline, Done asked after it", func(t *testing.T) {
		ctx := newRequestContext(time.Millisecond)
		deadline, _ := ctx.Deadline()
		for ctx.Err() == nil {
			if time.Since(deadline) > 5*time.Second {
				t.Fatal("Err still nil long after the deadline")
			}
		}
		if time.Now().Before(deadline) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v at %v before the deadline", ctx.Err(), time.Until(deadline))
		}
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Err says ended, Done is open")
		}
	})
	t.Run("ended before Done was asked", func(t *testing.T) {
		ctx := newRequestContext(time.Hour)
		ctx.end()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("Err %v", ctx.Err())
		}
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Done open after end")
		}
	})
	t.Run("children and values", func(t *testing.T) {
		ctx := newRequestContext(time.Hour)
		type key struct{}
		v := context.WithValue(ctx, key{}, "x")
		child, cancel := context.WithTimeout(v, time.Minute)
		defer cancel()
		if v.Value(key{}) != "x" || child.Value(key{}) != "x" {
			t.Fatal("value lost")
		}
		ctx.end()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("child not canceled with its parent")
		}
		if !errors.Is(child.Err(), context.Canceled) {
			t.Fatalf("child Err %v", child.Err())
		}
		ctx.end() // a second end is harmless
	})
}
