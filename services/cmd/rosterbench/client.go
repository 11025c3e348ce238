package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/groups"
)

// commandError is an error reply of roster-groups.
type commandError struct {
	Code    string
	Message string
}

func (e *commandError) Error() string { return e.Code + ": " + e.Message }

// command sends one Roster command over NATS request/reply, as a client
// would, and returns the reply body. An error reply is a *commandError.
func command(ctx context.Context, nc *nats.Conn, name string, body any) ([]byte, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	msg, err := nc.RequestWithContext(ctx, groups.SubjectPrefix+name, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if msg.Header.Get("Nats-Service-Error-Code") != "" {
		var r struct {
			Error commandError `json:"error"`
		}
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			return nil, fmt.Errorf("%s: error reply %q", name, msg.Data)
		}
		return nil, &r.Error
	}
	return msg.Data, nil
}

func timeoutCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

type createReq struct {
	GroupID string   `json:"group_id"`
	Actor   string   `json:"actor"`
	Name    string   `json:"name"`
	Members []string `json:"members,omitempty"`
}

type usersReq struct {
	GroupID string   `json:"group_id"`
	Actor   string   `json:"actor"`
	UserIDs []string `json:"user_ids"`
}

const owner = "owner"

// createGroups creates n groups named name(i) through roster-groups with
// the given members, workers at a time, reporting progress on stderr for
// long runs. It stops at the first error.
func createGroups(ctx context.Context, pool *connPool, n int, name func(int) string, members func(int) []string, label string) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	step := n / 10
	for w := range len(pool.ncs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				cctx, cancel := timeoutCtx(ctx, 30*time.Second)
				_, err := command(cctx, pool.ncs[w], "group.create", createReq{GroupID: name(i), Actor: owner, Name: "bench " + name(i), Members: members(i)})
				cancel()
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("create %s: %w", name(i), err) })
					return
				}
				if step >= 10000 && (i+1)%step == 0 {
					progress("%s: %d/%d groups", label, i+1, n)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func users(prefix string, from, n int) []string {
	u := make([]string, n)
	for i := range u {
		u[i] = fmt.Sprintf("%s%06d", prefix, from+i)
	}
	return u
}

func codeOf(err error) string {
	if ce, ok := err.(*commandError); ok {
		return ce.Code
	}
	return ""
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
