// Package httpclient is the webhook sender: the HTTP client every attempt
// goes through (no redirects, no proxy, bounded body and time) and the SSRF
// guard it dials through, which refuses every address that is not global
// unicast unless the operator allowed its range, after DNS resolution.
// It implements app.Sender; judging a response is the delivery package's.
package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// DefaultMaxBody caps how much of a response body is read and stored.
const DefaultMaxBody = 64 << 10

// ClientConfig configures the HTTP client every attempt goes through.
type ClientConfig struct {
	Guard *Guard
	// MaxBody is the most response-body bytes read (default 64 KiB); the
	// rest is never read.
	MaxBody int
	// TLSConfig lets tests trust a test CA; nil uses the system roots.
	TLSConfig *tls.Config
	// UserAgent is sent on every request.
	UserAgent string
}

func (c *ClientConfig) setDefaults() {
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.UserAgent == "" {
		c.UserAgent = "Roster-Webhooks/1"
	}
}

// Validate reports every problem with c.
func (c ClientConfig) Validate() error {
	var errs []error
	if c.Guard == nil {
		errs = append(errs, errors.New("guard is required: webhooks never dial unchecked addresses"))
	}
	if c.MaxBody < 0 {
		errs = append(errs, errors.New("max body must not be negative"))
	}
	return errors.Join(errs...)
}

// Client sends one webhook request: it never follows redirects, never uses
// an environment proxy (a proxy would bypass the SSRF guard), bounds the
// whole exchange by the request's timeout and reads at most MaxBody bytes.
// It is safe for concurrent use.
type Client struct {
	hc      *http.Client
	maxBody int
	// uaValues is the User-Agent header's value, shared by every request
	// (capped: nothing can append into it).
	uaValues []string
}

// NewClient builds a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook client config: %w", err)
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         cfg.Guard.DialContext,
		TLSClientConfig:     cfg.TLSConfig,
		TLSHandshakeTimeout: 10 * time.Second,
		// Several endpoints often share one host (one receiver, several
		// paths), each with up to Concurrency attempts in flight: a small
		// per-host idle pool would close most connections after one
		// request and dial anew (seen in the dispatch benchmark). Idle
		// connections are only kept, never a limit on open ones.
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		// A receiver's headers are bounded like its body.
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Client{
		hc: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		maxBody:  cfg.MaxBody,
		uaValues: []string{cfg.UserAgent}[:1:1],
	}, nil
}

// Do sends req and reads the response within req.Timeout.
func (c *Client) Do(ctx context.Context, req delivery.Request) delivery.Response {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return delivery.Response{Err: delivery.RedactError(err, req.URL), Class: delivery.ClassConnectError, Latency: time.Since(start)}
	}
	// The request's own header map, sized for them and the user agent:
	// filled in place, it never grows (the caller's map is recorded in the
	// audit trail as it was, without the user agent).
	hreq.Header = make(http.Header, len(req.Headers)+1)
	for k, vs := range req.Headers {
		hreq.Header[k] = vs
	}
	hreq.Header[headerUserAgent] = c.uaValues
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return delivery.Response{Err: delivery.RedactError(err, req.URL), Class: classifyTransport(ctx, err), Latency: time.Since(start)}
	}
	defer resp.Body.Close()
	out := delivery.Response{Status: resp.StatusCode, Headers: resp.Header}
	body, err := c.readBody(resp)
	out.Latency = time.Since(start)
	if len(body) > c.maxBody {
		out.Body, out.Truncated = body[:c.maxBody], true
		return out
	}
	out.Body = body
	if err != nil {
		out.Err = delivery.RedactError(fmt.Errorf("read response body: %w", err), req.URL)
		out.Class = classifyTransport(ctx, err)
	}
	return out
}

// headerUserAgent is User-Agent's canonical form, set straight into the
// request's header map.
const headerUserAgent = "User-Agent"

// readBody reads the response body and one byte past the cap, to know
// whether it was longer; the rest is never read (the connection is
// dropped, not drained). A body without content (204, Content-Length: 0,
// the common answer) reads nothing, and one of a known length within the
// cap is read into a buffer of that length: no growing buffer per
// request.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	if resp.Body == http.NoBody {
		return nil, nil
	}
	if n := resp.ContentLength; n >= 0 && n <= int64(c.maxBody) {
		body := make([]byte, n)
		read, err := io.ReadFull(resp.Body, body)
		if err == io.EOF {
			// Nothing of an announced body: io.ReadAll reports it so.
			err = io.ErrUnexpectedEOF
		}
		return body[:read], err
	}
	return io.ReadAll(io.LimitReader(resp.Body, int64(c.maxBody)+1))
}

// classifyTransport maps a failed exchange to its class.
func classifyTransport(ctx context.Context, err error) delivery.Class {
	var dnsErr *DNSError
	var netDNS *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alertErr tls.AlertError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrBlockedAddress):
		return delivery.ClassBlockedAddress
	case errors.As(err, &dnsErr), errors.As(err, &netDNS):
		return delivery.ClassDNSError
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alertErr),
		errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidCert):
		return delivery.ClassTLSError
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return delivery.ClassTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return delivery.ClassTimeout
	}
	return delivery.ClassConnectError
}
