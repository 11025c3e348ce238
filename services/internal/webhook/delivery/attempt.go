package delivery

import (
	"net/http"
	"time"
)

// Request is one HTTP POST.
type Request struct {
	URL     string
	Headers http.Header
	Body    []byte
	// Timeout bounds connect, request, response headers and body read.
	Timeout time.Duration
}

// Response is what came back. Err is set when no complete response was
// read (transport failure or body read failure); Class then says why.
type Response struct {
	Status    int
	Headers   http.Header
	Body      []byte // at most MaxBody bytes
	Truncated bool   // the body was longer than MaxBody
	Latency   time.Duration
	Err       error
	Class     Class // transport-level class, ClassNone when a response was read
}

// StatusClass maps a non-2xx status to its class (ClassNone for 2xx).
func StatusClass(status int) Class {
	switch {
	case status >= 200 && status < 300:
		return ClassNone
	case status >= 300 && status < 400:
		return ClassRedirect
	case status >= 400 && status < 500:
		return ClassHTTP4xx
	}
	return ClassHTTP5xx
}
