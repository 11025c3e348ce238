package main

import (
	"context"
	"errors"
)

// runDemo plays the seed scenario on the dev stack (issue: audit trail).
func runDemo(ctx context.Context, e *env) error {
	return errors.New("--demo is not available yet")
}
