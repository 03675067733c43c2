package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weft-dev/weft/pkg/ceformat"
	"github.com/weft-dev/weft/pkg/ceheader"
)

const (
	// MaxReplyBytes bounds the body of a response that carries a reply
	// event; a larger reply fails the attempt.
	MaxReplyBytes = 4 << 20
	// ErrorDataMax bounds how much of a failed response's body is kept, and
	// so how much of it knativeerrordata carries (before base64).
	ErrorDataMax = 1 << 10
	// drainLimit bounds how much of an unneeded body is read to reuse the
	// connection.
	drainLimit = 64 << 10
)

// attemptResult is what one attempt came to.
type attemptResult struct {
	status     int          // HTTP status code; 0: no response
	body       []byte       // start of the response body of a failed attempt (ErrorDataMax)
	retryAfter string       // the response's Retry-After header
	reply      *event.Event // a reply event carried by a 2xx response
	err        error        // nil: the attempt succeeded
	retryable  bool         // a failed attempt may be retried
	// parkUntil, set on the last attempt of a parked delivery, is when the
	// next attempt is due.
	parkUntil time.Time
	// replyLast, set when the attempt failed because its reply could not
	// be delivered to replyURL (Sender.ReplyTo), is that delivery's last
	// attempt: a dead letter describes it rather than the subscriber's 2xx.
	replyURL  string
	replyLast *attemptResult
}

// readFailure keeps the start of a failed response's body and releases the
// rest.
func readFailure(resp *http.Response) []byte {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, ErrorDataMax))
	drainClose(resp.Body)
	return body
}

// readReply reads a 2xx response and returns the reply event it carries, if
// any (Knative's rules): headers with ce-specversion make a binary-mode
// event (its ce- values percent-decoded, ceheader.Decode), a Content-Type of application/cloudevents+json a structured one;
// anything else (an empty body, text, JSON without ce- headers) is no reply.
// A structured reply with an empty body is no reply either.
//
// A response that claims to be a CloudEvent but is not a valid one (bad
// attributes, an unknown spec version or format, a batch, a body over
// MaxReplyBytes) returns an error wrapping ErrMalformedReply together with
// the start of its body. readReply always consumes and closes resp.Body.
func readReply(ctx context.Context, resp *http.Response) (*event.Event, []byte, error) {
	msg := cehttp.NewMessage(resp.Header, nil)
	enc := msg.ReadEncoding()
	claimed := ""
	if enc == binding.EncodingUnknown {
		switch sv := resp.Header.Get("Ce-Specversion"); {
		case sv != "":
			claimed = fmt.Sprintf("unknown ce-specversion %q", sv)
		case isCloudEventsMediaType(resp.Header.Get("Content-Type")):
			claimed = fmt.Sprintf("unsupported event format %q", resp.Header.Get("Content-Type"))
		default:
			drainClose(resp.Body)
			return nil, nil, nil
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes+1))
	drainClose(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read reply: %w", err)
	}
	start := body[:min(len(body), ErrorDataMax)]
	switch {
	case claimed != "":
		return nil, start, fmt.Errorf("%w: %s", ErrMalformedReply, claimed)
	case enc == binding.EncodingBatch:
		return nil, start, fmt.Errorf("%w: a batch is not a reply", ErrMalformedReply)
	case len(body) > MaxReplyBytes:
		return nil, start, fmt.Errorf("%w: body over %d bytes", ErrMalformedReply, MaxReplyBytes)
	case enc == binding.EncodingStructured && len(body) == 0:
		return nil, nil, nil
	}
	if enc == binding.EncodingStructured && isStructuredJSON(resp.Header.Get("Content-Type")) {
		// Weft's own strict JSON format rules, as at the ingress.
		ev, err := ceformat.Parse(body)
		if err != nil {
			return nil, start, fmt.Errorf("%w: %w", ErrMalformedReply, err)
		}
		return ev, nil, nil
	}
	if enc == binding.EncodingBinary {
		// HTTP binding §3.1.3.2: ce- values are percent-encoded.
		h, err := ceheader.DecodeHeader(resp.Header)
		if err != nil {
			return nil, start, fmt.Errorf("%w: %w", ErrMalformedReply, err)
		}
		msg.Header = h
	}
	msg.BodyReader = io.NopCloser(bytes.NewReader(body))
	ev, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, start, fmt.Errorf("%w: %w", ErrMalformedReply, err)
	}
	if err := ceformat.Check(ev); err != nil {
		return nil, start, fmt.Errorf("%w: %w", ErrMalformedReply, err)
	}
	return ev, nil, nil
}

// isStructuredJSON reports a Content-Type of the JSON event format.
func isStructuredJSON(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "application/cloudevents+json")
}

// isCloudEventsMediaType reports a Content-Type of the application/cloudevents
// family (structured, batch, or an unknown format).
func isCloudEventsMediaType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	return strings.HasPrefix(ct, "application/cloudevents")
}
