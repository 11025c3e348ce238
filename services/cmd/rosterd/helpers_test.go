package main

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

func jetstreamOrdered(groupID string) jetstream.OrderedConsumerConfig {
	return jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.Subject(groupID)}}
}
