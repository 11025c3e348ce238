// Package ports is roster-groups' transport: the NATS micro service
// roster-groups, one endpoint per command on roster.cmd.<noun>.<verb>,
// served through the shared edge (services/internal/natsx/edge: size caps,
// worker goroutines, the one error convention). It decodes each request
// into an app.Command (one parser file per command: member_invite.go is
// roster.cmd.member.invite), attaches the caller NATS attests
// (callers.go), calls the app layer and maps its Result to the reply. It
// never touches storage.
package ports
