//go:build ignore

// Package gen holds copies of Roster's hot JSON types (same fields and
// tags) for easyjson, which generates code into the package that defines
// the types.
package gen

import (
	"encoding/json"
	"time"
)

//easyjson:json
type Event struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	GroupID       string          `json:"group_id"`
	Version       uint64          `json:"version"`
	OccurredAt    time.Time       `json:"occurred_at"`
	CommandID     string          `json:"command_id"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Actor         string          `json:"actor"`
	Data          json.RawMessage `json:"data"`
}

//easyjson:json
type Commit struct {
	CommandID          string  `json:"command_id"`
	GeneratedCommandID bool    `json:"generated_command_id,omitempty"`
	Command            string  `json:"command"`
	GroupID            string  `json:"group_id"`
	Events             []Event `json:"events"`
}

//easyjson:json
type Member struct {
	GroupID       string     `json:"group_id"`
	UserID        string     `json:"user_id"`
	Role          string     `json:"role"`
	JoinedAt      time.Time  `json:"joined_at"`
	JoinedVersion uint64     `json:"joined_version"`
	Inviter       string     `json:"inviter,omitempty"`
	MutedUntil    *time.Time `json:"muted_until,omitempty"`
}

//easyjson:json
type UserGroup struct {
	GroupID       string    `json:"group_id"`
	Role          string    `json:"role"`
	JoinedAt      time.Time `json:"joined_at"`
	JoinedVersion uint64    `json:"joined_version"`
}

//easyjson:json
type Command struct {
	ID          string    `json:"id"`
	CommandID   string    `json:"command_id"`
	Subject     string    `json:"subject"`
	GroupID     string    `json:"group_id"`
	Actor       string    `json:"actor"`
	Outcome     string    `json:"outcome"`
	ErrorCode   string    `json:"error_code,omitempty"`
	ErrorMsg    string    `json:"error_message,omitempty"`
	Version     uint64    `json:"version"`
	LatencyUS   int64     `json:"latency_us"`
	ReceivedAt  time.Time `json:"received_at"`
	PayloadHash string    `json:"payload_sha256"`
	PayloadSize int       `json:"payload_size"`
}

//easyjson:json
type DeliveryAttempt struct {
	ID              string            `json:"id"`
	EventID         string            `json:"event_id"`
	EventType       string            `json:"event_type"`
	GroupID         string            `json:"group_id"`
	EndpointID      string            `json:"endpoint_id"`
	URL             string            `json:"url"`
	Format          string            `json:"format"`
	Attempt         int               `json:"attempt"`
	Trigger         string            `json:"trigger"`
	RequestHeaders  map[string]string `json:"request_headers"`
	RequestSize     int               `json:"request_size"`
	RequestHash     string            `json:"request_sha256"`
	ResponseStatus  int               `json:"response_status"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	Success         bool              `json:"success"`
	FailureClass    string            `json:"failure_class,omitempty"`
	FailureMsg      string            `json:"failure_message,omitempty"`
	LatencyUS       int64             `json:"latency_us"`
	StartedAt       time.Time         `json:"started_at"`
	NextAttemptAt   *time.Time        `json:"next_attempt_at,omitempty"`
	State           string            `json:"state"`
	Repeat          bool              `json:"repeat"`
}
