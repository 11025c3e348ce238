package record

// Public contract names of the trail's JetStream side.
const (
	// StreamName is the JetStream stream audit records are published to.
	StreamName = "ROSTER_AUDIT"
	// SubjectPrefix prefixes every record subject: roster.audit.<kind>.
	SubjectPrefix = "roster.audit."
	// DeadLetterSubject receives, in ROSTER_AUDIT, every record the sink
	// could never write, with the reason in HeaderDeadLetterReason.
	DeadLetterSubject = SubjectPrefix + "deadletter"
)

// Headers on a dead-lettered message. The body is the original record,
// byte for byte.
const (
	HeaderDeadLetterReason  = "Roster-Deadletter-Reason"
	HeaderDeadLetterSubject = "Roster-Deadletter-Subject"
	HeaderDeadLetterStream  = "Roster-Deadletter-Stream"
	HeaderDeadLetterSeq     = "Roster-Deadletter-Seq"
)

// Subject is the subject records of kind k are published on.
func Subject(k Kind) string { return SubjectPrefix + string(k) }

// Table is the ClickHouse table records of kind k are stored in (also the
// table label of roster_audit_rows_inserted_total); "" for an unknown kind.
func Table(k Kind) string {
	switch k {
	case KindPolicyHookChange:
		return "policy_hook_changes"
	case KindCommand:
		return "commands"
	case KindEvent:
		return "events"
	case KindDeliveryAttempt:
		return "delivery_attempts"
	case KindEndpointChange:
		return "endpoint_changes"
	case KindPolicyDecision:
		return "policy_decisions"
	}
	return ""
}
