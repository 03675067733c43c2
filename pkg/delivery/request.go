package delivery

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// buildRequest encodes ev in binary mode (ce- headers, Content-Type from
// datacontenttype, data as the body) into a POST to target. It is built once
// per destination; every attempt sends a copy made by attemptRequest.
func buildRequest(ev *event.Event, target string, preferReply bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: url %q: scheme must be http or https", ErrInvalidRequest, target)
	}
	// An EventMessage is always written in binary mode unless structured is
	// asked for through the context.
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(ev), req); err != nil {
		return nil, fmt.Errorf("%w: encode event %q: %w", ErrInvalidRequest, ev.ID(), err)
	}
	if preferReply {
		req.Header.Set("Prefer", "reply")
	}
	return req, nil
}

// attemptRequest copies base for one attempt bound to ctx, with its own
// header (the trace context is injected per attempt) and a fresh body. The
// URL is shared: nothing writes to it.
func attemptRequest(ctx context.Context, base *http.Request) (*http.Request, error) {
	req := base.WithContext(ctx)
	req.Header = base.Header.Clone()
	if base.GetBody == nil {
		req.Body = http.NoBody
		return req, nil
	}
	body, err := base.GetBody()
	if err != nil {
		return nil, fmt.Errorf("%w: rewind body: %w", ErrInvalidRequest, err)
	}
	req.Body = body
	return req, nil
}

// drainClose reads what is left of body, up to drainLimit, so the
// connection can be reused, and closes it. A body longer than that costs a
// connection rather than an unbounded read.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	_ = body.Close()
}
