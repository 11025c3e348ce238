package app

import "github.com/rosterhq/roster/events"

func eventOf(typ string) events.Event { return events.Event{Type: events.Type(typ)} }
