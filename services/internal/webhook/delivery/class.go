package delivery

// Class names why an attempt failed. The set is a public contract: it is
// stored in the audit trail (delivery_attempts.failure_class) and used as a
// metric label.
type Class string

const (
	// ClassNone: the attempt succeeded.
	ClassNone Class = ""
	// ClassTimeout: the connect or total timeout passed (including a body
	// trickled too slowly).
	ClassTimeout Class = "timeout"
	// ClassConnectError: the TCP connection failed or broke (refused,
	// reset, unreachable).
	ClassConnectError Class = "connect_error"
	// ClassDNSError: the host name did not resolve.
	ClassDNSError Class = "dns_error"
	// ClassTLSError: the TLS handshake or certificate check failed.
	ClassTLSError Class = "tls_error"
	// ClassHTTP4xx and ClassHTTP5xx: the receiver answered with that status.
	ClassHTTP4xx Class = "http_4xx"
	ClassHTTP5xx Class = "http_5xx"
	// ClassRedirect: the receiver answered 3xx; redirects are never followed.
	ClassRedirect Class = "redirect"
	// ClassTooLarge: the response body exceeded the cap where the body
	// matters (openim format).
	ClassTooLarge Class = "too_large"
	// ClassInvalidResponse: the body was not the response the format
	// requires (openim: a 2xx body neither empty nor exactly one JSON
	// value, such as `{"actionCode":0}Callback ok`).
	ClassInvalidResponse Class = "invalid_response"
	// ClassBlockedAddress: every address of the destination is refused by
	// the SSRF guard.
	ClassBlockedAddress Class = "blocked_address"
)

// Classes lists every failure class in a stable order (metrics, docs).
var Classes = []Class{
	ClassTimeout, ClassConnectError, ClassDNSError, ClassTLSError, ClassHTTP4xx, ClassHTTP5xx,
	ClassRedirect, ClassTooLarge, ClassInvalidResponse, ClassBlockedAddress,
}
