package schemas

import (
	"embed"
	"fmt"
)

// jsonFS holds the JSON Schemas (draft 2020-12) of every command request
// (json/commands/<name>.json), every event's data (json/events/<type>.json,
// with its current schema version in "x-schema-version"), the event
// envelope (json/event.json), the commit (json/commit.json), every
// webhook request (json/webhooks/endpoint.<verb>.json, redeliver.json) and
// every policy hook request (json/policy/hook.<verb>.json).
//
//go:embed json
var jsonFS embed.FS

// JSON returns the schema file at path (e.g. "commands/member.invite.json").
func JSON(path string) ([]byte, error) {
	b, err := jsonFS.ReadFile("json/" + path)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", path, err)
	}
	return b, nil
}

// CommandSchema returns the schema of a command's request ("member.invite").
func CommandSchema(name string) ([]byte, error) { return JSON("commands/" + name + ".json") }

// EventSchema returns the schema of an event type's data ("member.invited").
func EventSchema(eventType string) ([]byte, error) { return JSON("events/" + eventType + ".json") }

// WebhookSchema returns the schema of a webhook request ("endpoint.create",
// "redeliver").
func WebhookSchema(name string) ([]byte, error) { return JSON("webhooks/" + name + ".json") }

// PolicySchema returns the schema of a policy hook request ("hook.create").
func PolicySchema(name string) ([]byte, error) { return JSON("policy/" + name + ".json") }
