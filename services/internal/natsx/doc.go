// Package natsx connects Roster's services to NATS: an embedded server for
// the dev stack and tests, client connection options, and provisioning.
package natsx
